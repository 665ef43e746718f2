"""Listeners' reactions: the impressions the API served and the feedback that comes back."""
