"""Domain outcomes the API maps to HTTP statuses (404, 412, 400)."""


class DomainError(Exception):
    pass


class TodoNotFound(DomainError):
    def __init__(self, todo_id: int) -> None:
        super().__init__(f"todo {todo_id} not found")
        self.todo_id = todo_id


class VersionMismatch(DomainError):
    """The caller's If-Match names a version that is no longer current."""

    def __init__(self, todo_id: int, expected: int | None, actual: int) -> None:
        super().__init__(
            f"todo {todo_id} has changed since you read it (If-Match is stale): fetch it and retry"
        )
        self.todo_id = todo_id
        self.expected = expected
        self.actual = actual
