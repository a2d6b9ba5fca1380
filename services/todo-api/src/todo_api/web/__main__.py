"""`python -m todo_api.web`: serve the API on the configured port (threaded, for `make run`)."""

from __future__ import annotations

from taskoverflow_events import logs
from todo_api.api import create_app
from todo_api.config import Settings


def main() -> None:
    settings = Settings.from_env()
    logs.configure("todo-api", json=settings.log_json, level=settings.log_level)
    app = create_app(settings)
    app.run(host="0.0.0.0", port=settings.port, threaded=True)  # noqa: S104 - container-friendly


if __name__ == "__main__":
    main()
