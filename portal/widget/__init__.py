"""The feedback widget's pages (/widget/), framed by the organisation's own site."""

from portal.widget.views import bp

__all__ = ["bp"]
