"""The gathered context: every fact a rewrite needs, gathered once per invocation into one
typed value (:class:`~mirrorinstall.context.facts.Facts`) and handed down."""
