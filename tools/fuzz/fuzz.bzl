"""chatd_fuzz_test: a libFuzzer target that is also a regression test."""

load("@rules_cc//cc:defs.bzl", "cc_test")

def chatd_fuzz_test(name, srcs, deps, corpus = []):
    """A fuzz target, runnable two ways.

    `bazel test` runs it as a test through //tools/fuzz:fuzz_driver over its
    seed corpus and fixed random inputs. With --config=fuzz it links libFuzzer:
    `bazel run --config=fuzz //pkg:name -- -max_total_time=60`.
    """
    cc_test(
        name = name,
        srcs = srcs,
        data = corpus,
        args = ["$(location %s)" % c for c in corpus],
        deps = deps + select({
            "//tools/fuzz:libfuzzer": [],
            "//conditions:default": ["//tools/fuzz:fuzz_driver"],
        }),
        linkopts = select({
            "//tools/fuzz:libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
    )
