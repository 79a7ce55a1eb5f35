"""veille sentiment service.

Scores each mention with a multilingual transformer: polarity, disappointment, churn intent, anger,
voice and aspects, into mentions-scored.
"""
