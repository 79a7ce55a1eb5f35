"""A corpus of nasty inputs, written for veille: what a hostile or broken sender may push at it.

Texts go into a post; bodies are whole webhook requests. Large ones are built, not stored.
"""

from __future__ import annotations

import json

BRAND = "Kestrel Mobile"
TEXTS = {
    "control characters": f"{BRAND}\x00\x01\x07\x1b[31m rouge\x7f\x9b fin\u2028ligne\u2029",
    "right-to-left override": f"{BRAND} facture \u202efdp.exe\u202c et \u2066isolé\u2069 \u200fمرحبا",
    "zero-width and joiners": f"{BRAND}\u200b \u200c\u200d\ufeff ça\u00ad marche 👩\u200d💻",
    "emoji only, with the brand as a hashtag": "#kestrelmobile 😡😡😡🔥📉💀",
    "emoji only": "😡😡😡🔥📉💀🙃",
    "html and script": f"<p>{BRAND} <b>nul</b></p><script>alert('x')</script><img src=x onerror=alert(1)>",
    "html entities": f"{BRAND} &lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; &#0; &#x202e; &#99999999;",
    "sql-looking": f"{BRAND}'); DROP TABLE mentions; -- \" OR 1=1 /* */ {{x:String}}",
    "format strings": f"{BRAND} %s %n %x {{0}} {{author.__class__}} ${{jndi:ldap://x}}",
    "combining marks": f"{BRAND} Z̴̡̪̫͖̥̔̿̃̈̏̎͠͝a̶̡͓̼̪̯̓̒̀̚l̷̢̲̝̼̊̍͘g̵̛̜̼̒ő̴̧",
    "unpaired-looking escapes": f"{BRAND} \\ud800 \\udfff \\u0000",
    "only whitespace": " \t\n\u00a0\u3000 ",
    "long text": f"{BRAND} " + "très long " * 40_000,
    "one long word": BRAND + " " + "a" * 100_000,
}


def body_of(text: str, index: int = 0) -> bytes:
    post = {"id": f"nasty-{index}", "text": text, "published_at": "2026-11-20T10:00:00Z", "author": {"id": "n"}}
    return json.dumps({"source": "nasty", "posts": [post]}).encode()


BODIES = {
    "invalid UTF-8": b'{"source": "nasty", "posts": [{"id": "x", "text": "Kestrel \xff\xfe\xc3"}]}',
    "ten megabytes": body_of(f"{BRAND} " + "x" * 10_000_000),
    "deeply nested JSON": b'{"posts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "not JSON": b"<xml>Kestrel Mobile</xml>",
    "empty": b"",
    "JSON but not an object": b'"Kestrel Mobile"',
    "posts not a list": b'{"source": "nasty", "posts": {"0": 1}}',
    "a thousand and one posts": json.dumps({"posts": [{"id": str(i)} for i in range(1_001)]}).encode(),
    "wrong types": b'{"id": 1, "text": ["Kestrel"], "published_at": "hier", "author": {"id": null}}',
    "NaN and huge numbers": b'{"id": "n", "text": "Kestrel", "published_at": "2026-11-20T10:00:00Z",'
    b' "author": {"id": "a", "followers": 1e400, "engagement": NaN}}',
    "unknown fields": b'{"id": "n", "text": "Kestrel", "published_at": "2026-11-20T10:00:00Z",'
    b' "author": {"id": "a"}, "__proto__": {"admin": true}}',
}
