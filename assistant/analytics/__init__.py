"""Knowledge-gap analytics over the question log: the report, its Markdown and chart, and
eval cases exported from its groups."""
