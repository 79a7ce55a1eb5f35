# The `veille` command (topic creation, dashboards push, reports). Build from the repository root.
FROM python:3.11.7-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --system --uid 10001 --home-dir /app veille
WORKDIR /app
COPY constraints.txt pyproject.toml README.md ./
COPY contracts/ contracts/
COPY veille/ veille/
RUN pip install -c constraints.txt ./contracts .
USER veille
ENTRYPOINT []
CMD ["veille", "--help"]
