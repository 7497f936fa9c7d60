"""One module per operation, each with ``run(fields, ctx) -> result``; ``job.run_job`` imports
them on first use, so an operation whose dependencies are missing fails alone."""
