"""Keys typed into a box that was not focused yet when they arrived.

A terminal delivers a fast typist's keys, a paste, or tmux's send-keys in one read, and Textual hands each of
them to the widget that has the focus when it reads them: all of `/get_obj` goes to the tree, whose bindings
would take `e` and `s` as commands, before `/` has opened the search box and moved the focus there. So the
widget itself opens the box on its key (`opens_with`), in the order the keys came, and hands every key it
receives to the box while the box is open and focused.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.widget import Widget


class HandsOnKeys:
    """A mixin for a widget (after the widget's class, so that Textual's CSS follows the widget's): it opens a
    box on one of `opens_with` keys (`opener` opens it and returns it), and its keys go to that box while
    the box is open."""

    keys_to: Widget | None = None
    opens_with: tuple[str, ...] = ()
    opener: Callable[[], Widget] | None = None

    def on_key(self, event: events.Key) -> None:
        assert isinstance(self, Widget)
        target = self.keys_to
        if target is not None and not (target.display and self.screen.focused is target):
            target = self.keys_to = None  # the box was closed, or left for another widget
        if target is None:
            if self.opener is None or event.key not in self.opens_with:
                return
            event.stop()
            event.prevent_default()
            self.keys_to = self.opener()
            return
        event.stop()
        event.prevent_default()
        target.post_message(events.Key(event.key, event.character))
