"""The JSON API at /api/v1: public reads, and token-authenticated submission, votes and moves."""
