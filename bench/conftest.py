"""Keep the saved benchmark JSON small: summary statistics, not every sample."""


def pytest_benchmark_update_json(config, benchmarks, output_json):
    for bench in output_json.get("benchmarks", ()):
        bench.get("stats", {}).pop("data", None)
