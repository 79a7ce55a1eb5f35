"""The detectors, one pure module each: they see scored mentions in event-time order and return findings.

Each takes a `scale` with every mention: the feedback loop's multiplier of its
threshold for that brand (1.0 by default, higher after false alarms).
"""
