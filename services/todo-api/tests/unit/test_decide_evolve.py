from dataclasses import replace
from datetime import datetime

import pytest

from todo_api.domain.commands import CreateTodo, DeleteTodo, UpdateTodo
from todo_api.domain.errors import TodoNotFound, VersionMismatch
from todo_api.domain.todo import Todo, decide, evolve

NOW = datetime(2026, 3, 1, 12, 30, 45, 999)


def existing(**overrides: object) -> Todo:
    base = Todo(
        id=3,
        title="Write report",
        description=None,
        completed=False,
        deadline_at=None,
        created_at=datetime(2026, 1, 1),
        updated_at=datetime(2026, 1, 1),
        version=2,
    )
    return replace(base, **overrides)


def test_create_starts_at_version_one_with_second_precision_timestamps() -> None:
    [change] = decide(CreateTodo(title="A"), None, now=NOW, new_id=9)
    assert change.change == "created"
    assert change.todo.id == 9
    assert change.todo.version == 1
    assert change.todo.created_at == change.todo.updated_at == NOW.replace(microsecond=0)


def test_create_needs_an_allocated_id() -> None:
    with pytest.raises(ValueError, match="id"):
        decide(CreateTodo(title="A"), None, now=NOW)


def test_update_records_only_real_changes_and_bumps_the_version() -> None:
    current = existing()
    [change] = decide(UpdateTodo(3, {"completed": True, "title": "Write report"}), current, now=NOW)
    assert change.change == "updated"
    assert change.todo.completed is True
    assert change.todo.version == 3
    assert change.todo.created_at == current.created_at


def test_an_update_that_changes_nothing_records_nothing() -> None:
    assert decide(UpdateTodo(3, {"title": "Write report"}), existing(), now=NOW) == []


def test_a_stale_expected_version_is_refused() -> None:
    with pytest.raises(VersionMismatch):
        decide(UpdateTodo(3, {"completed": True}, expected_version=1), existing(), now=NOW)
    with pytest.raises(VersionMismatch):
        decide(DeleteTodo(3, expected_version=5), existing(), now=NOW)


def test_commands_on_an_absent_todo_are_not_found() -> None:
    with pytest.raises(TodoNotFound):
        decide(UpdateTodo(3, {"completed": True}), None, now=NOW)
    with pytest.raises(TodoNotFound):
        decide(DeleteTodo(3), None, now=NOW)


def test_delete_carries_the_last_state_and_evolves_to_nothing() -> None:
    current = existing(completed=True)
    [change] = decide(DeleteTodo(3), current, now=NOW)
    assert change.change == "deleted"
    assert change.todo.completed is True
    assert evolve(current, change) is None


def test_evolve_folds_a_history_into_the_current_state() -> None:
    [created] = decide(CreateTodo(title="A", description="d"), None, now=NOW, new_id=1)
    state = evolve(None, created)
    [updated] = decide(UpdateTodo(1, {"description": None}), state, now=NOW)
    state = evolve(state, updated)
    assert state is not None
    assert state.description is None
    assert state.version == 2


def test_only_mutable_fields_can_change() -> None:
    with pytest.raises(ValueError, match="cannot be changed"):
        decide(UpdateTodo(3, {"created_at": NOW}), existing(), now=NOW)
