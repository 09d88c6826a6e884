"""The public "How we are doing" page: service figures for everyone."""
