"""API access area (issue 16): the personal API tokens of the current organization, for its administrators."""
