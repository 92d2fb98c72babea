"""A page with the portal widget in it, driven the way a visitor does: open the panel, start
the call, read the transcript, state and error line, end the call.

The widget's own DOM events (`voice-assistant:*`, see `widget/src/widget.js`) are recorded
from before the page loads, each with the page's clock (`performance.now()`, ms).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page

WIDGET = "voice-assistant"
_RECORD_EVENTS = """
window.widgetEvents = [];
for (const name of ["state", "transcript", "first-audio", "error"]) {
  document.addEventListener(`voice-assistant:${name}`, (e) =>
    window.widgetEvents.push({ at: performance.now(), name, detail: e.detail }));
}
"""


@dataclass(frozen=True)
class WidgetEvent:
    """One event the widget dispatched: when (page ms), which, and its detail."""

    at: float
    name: str
    detail: dict


class WidgetPage:
    """A Playwright page holding the widget; `errors` collects uncaught page errors."""

    def __init__(self, page: Page):
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.add_init_script(_RECORD_EVENTS)

    def open(self, url: str) -> None:
        """Load `url` and wait for the widget's launcher."""
        self.page.goto(url)
        self.page.wait_for_selector(f"{WIDGET} >> .launcher")

    def start_call(self) -> None:
        """Open the panel and press Start call, as a visitor clicks them."""
        self.page.click(f"{WIDGET} >> .launcher")
        self.page.click(f"{WIDGET} >> .call")

    def end_call(self) -> None:
        """Press End call and wait for the call to end."""
        self.page.click(f"{WIDGET} >> .call.live")
        self.wait_for(lambda: "ended" in self.states(), within=10, what="the call to end")

    def events(self) -> list[WidgetEvent]:
        """Every widget event so far."""
        return [WidgetEvent(**e) for e in self.page.evaluate("window.widgetEvents")]

    def states(self) -> list[str]:
        """The call states in the order the widget entered them."""
        return [e.detail["state"] for e in self.events() if e.name == "state"]

    def lines(self) -> list[tuple[str, str]]:
        """The transcript as shown: (who, text) per line, who being user or bot; a bot line's
        text is what it has spoken (not the words it shows dimmed, still to come)."""
        return [
            (who, text.strip())
            for who, text in self.page.locator(f"{WIDGET} >> .transcript").evaluate(
                """(list) => [...list.querySelectorAll("li[data-who]")].map((li) => [
                    li.dataset.who,
                    li.dataset.who === "bot"
                      ? [...li.querySelectorAll(".spoken")].map((s) => s.textContent).join("")
                      : li.textContent,
                ])"""
            )
        ]

    def error_line(self) -> str:
        """The error line's text, "" while it is hidden."""
        error = self.page.locator(f"{WIDGET} >> .error")
        return error.inner_text() if error.is_visible() else ""

    def wait_for(self, condition: Callable[[], bool], within: float, what: str) -> None:
        """Poll `condition` every 100 ms until it holds; fail after `within` seconds."""
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {what} within {within:g} s; states {self.states()}, "
                    f"transcript {self.lines()}, error {self.error_line()!r}"
                )
            self.page.wait_for_timeout(100)
