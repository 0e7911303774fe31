"""Accessibility checks run in the page, and helpers to drive the tablet."""

from __future__ import annotations

import re
from typing import Any

UNLABELLED_JS = """() => {
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, [role=progressbar]';
  const shown = el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
                        return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'; };
  const name = el => {
    const aria = el.getAttribute('aria-label'); if (aria && aria.trim()) return aria.trim();
    const by = el.getAttribute('aria-labelledby');
    if (by) return by.split(/\\s+/).map(i => (document.getElementById(i) || {}).textContent || '')
                    .join(' ').trim();
    if (el.labels && el.labels.length)
      return [...el.labels].map(l => l.textContent).join(' ').trim();
    if (el.tagName === 'A' || el.tagName === 'BUTTON') return el.textContent.trim();
    return (el.getAttribute('title') || '').trim();
  };
  return [...document.querySelectorAll(sel)].filter(shown).filter(el => !name(el))
         .map(el => el.outerHTML.slice(0, 160));
}"""

COLOURS_JS = """(selector) => [...document.querySelectorAll(selector)].map(el => {
  const s = getComputedStyle(el);
  return [el.className, s.color, s.backgroundColor];
})"""

PROBE_STATES_JS = """(states) => states.map(state => {
  const el = document.createElement('a');
  el.className = 'tile state-' + state; el.textContent = state;
  document.body.appendChild(el);
  const s = getComputedStyle(el), out = [state, s.color, s.backgroundColor];
  el.remove();
  return out;
})"""

STATES = ("unknown", "running", "idle", "stopped", "fault", "setup", "planned_stop", "offline")
TOUCH_SELECTOR = "a[href], button, input:not([type=hidden]), select"


def _rgb(css: str) -> tuple[float, float, float]:
    parts = [float(x) for x in re.findall(r"[\d.]+", css)[:3]]
    return parts[0], parts[1], parts[2]


def luminance(css: str) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(css))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two CSS rgb() colours."""
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def unlabelled(page: Any) -> list[str]:
    return list(page.evaluate(UNLABELLED_JS))


def low_contrast(page: Any, selector: str) -> list[tuple[str, float]]:
    rows = page.evaluate(COLOURS_JS, selector)
    return [(c, round(contrast(fg, bg), 2)) for c, fg, bg in rows if contrast(fg, bg) < 4.5]


def state_contrasts(page: Any) -> dict[str, float]:
    rows = page.evaluate(PROBE_STATES_JS, list(STATES))
    return {state: round(contrast(fg, bg), 2) for state, fg, bg in rows}


def small_targets(page: Any) -> list[tuple[str, float, float]]:
    small = []
    for el in page.locator(TOUCH_SELECTOR).all():
        box = el.bounding_box()
        if box is None or not el.is_visible():
            continue
        if box["width"] < 44 or box["height"] < 44:
            small.append(
                (el.evaluate("e => e.outerHTML.slice(0, 100)"), box["width"], box["height"])
            )
    return small


def confirm(page: Any, submit: Any) -> str:
    """Run ``submit()`` and wait for the server's confirmation; return its text."""
    before = page.evaluate("() => (document.querySelector('#flash') || {dataset: {}}).dataset.seq")
    submit()
    page.wait_for_function(
        """prev => { const f = document.querySelector('#flash');
                     return f && (f.classList.contains('flash-error')
                                  || f.dataset.seq !== prev); }""",
        arg=before,
    )
    flash = page.locator("#flash")
    text = flash.inner_text()
    assert "flash-ok" in (flash.get_attribute("class") or ""), text
    return text


def login(page: Any, base: str, *, operator: str, pin: str, machine: str) -> None:
    page.goto(f"{base}/tablet/machines/{machine}")
    assert "/tablet/login" in page.url
    page.select_option("#operator", operator)
    page.fill("#pin", pin)
    page.locator("form:has(#pin) button[type=submit]").click()
    page.wait_for_url(f"{base}/tablet/machines/{machine}")
