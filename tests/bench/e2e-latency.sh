#!/usr/bin/env bash
# Write-to-visible latency of the real `kernel start` process next to PostgreSQL 15 (see README.md here).
# Builds the benchmarks and the kernel command line from this checkout (Release) and passes every argument on:
#   tests/bench/e2e-latency.sh --quick
#   tests/bench/e2e-latency.sh --rows 1000000 --groups 1000 --updates 1000 --budget-seconds 600
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec dotnet run -c Release --project "$root/tests/bench/Kernel.Tests.Bench.csproj" -- e2e-latency "$@"
