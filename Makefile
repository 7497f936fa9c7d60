# The two commands of the README, and their companions. Each one installs what is missing first.
.PHONY: up down status test setup

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
