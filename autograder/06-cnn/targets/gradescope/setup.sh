#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
apt-get update && apt-get install -y bubblewrap python3-venv
python3 -m venv /opt/mlgrader
/opt/mlgrader/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch==2.14.1 torchvision==0.29.1
/opt/mlgrader/bin/pip install "mlgrader[course]"
