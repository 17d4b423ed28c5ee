"""Developer tools: the fake ChatGPT backend and the benchmark scripts."""
