"""How a tutorial page is read and its output matched: pure functions, no system."""

from tests.docs.tutorial_pages import Step, missing_lines, steps

PAGE = """# A page

```text
make run
```

```sh
echo one
```

Prose between.

```text
one
```

```sh
echo two
```

```mermaid
graph LR
```
"""


def test_each_sh_block_takes_the_text_block_that_follows_it() -> None:
    assert steps(PAGE) == [Step("echo one", "one"), Step("echo two", None)]


def test_an_unclosed_block_is_an_error() -> None:
    try:
        steps("```sh\necho one\n")
    except ValueError:
        return
    raise AssertionError("an unclosed fence was accepted")


def test_lines_must_appear_in_order_with_the_ellipsis_as_wildcard() -> None:
    output = 'first\n{"id":7,"title":"x"}\nlast\n'
    assert missing_lines('{"id":…,"title":"x"}\nlast', output) == []
    assert missing_lines("last\nfirst", output) == ["first"]
    assert missing_lines('{"id":7', output) == ['{"id":7'], "a line matches whole, not a prefix"
    assert missing_lines("absent", output) == ["absent"]
