"""Subscription lists, the subscription center, double opt-in and unsubscribe (issue: subscriptions)."""
