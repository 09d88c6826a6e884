"""The public roadmap: planned, in progress, done recently; and its Atom feed."""
