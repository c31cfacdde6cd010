#!/usr/bin/env bash
# The main job: builds GenCluster, then trains DCGAN on MNIST data-parallel with a local silo and N trainer
# processes (default 2), showing live progress. Extra arguments go to `gencluster local` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/prereqs.sh run
dotnet build GenCluster.sln -c Release -nologo -clp:NoSummary -v q
exec dotnet src/GenCluster.Silo/bin/Release/net10.0/gencluster.dll local "$@"
