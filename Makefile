# The two commands of the README, and their companions. Each one installs what is missing first.
.PHONY: up down status test setup gpu-check

up:
	@scripts/up.sh

down:
	@scripts/down.sh

status:
	@scripts/status.sh

test:
	@scripts/test.sh

setup:
	@scripts/setup.sh

# The GPU paths of this machine, proven: see docs/gpu.md.
gpu-check:
	@scripts/gpu-check.sh
