"""Cost: today and the last 7 days, cost per 1k predictions by version (and prompt version), the monthly
budget with its month-end projection, the spike ratio and onset, hourly cost over 48 hours; for LLMs,
tokens per request, refusal rate, guardrail blocks and factuality per prompt version.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from console.ui.navigation import register_screen
from console.ui.screens.model import MonitorScreen, count, line, lines, num, pct, rate, timed, ts, usd
from console.ui.text import safe
from console.ui.widgets import Col, FilterTable, TimeChart


class CostScreen(MonitorScreen):
    SCREEN_NAME = "cost"
    SCREEN_TITLE = "Cost"
    ERROR_TARGET = "#cost-head"
    DEFAULT_CSS = """
    CostScreen #per1k { height: 1fr; min-height: 4; }
    CostScreen #hourly { height: 7; }
    CostScreen.-h-l #hourly { height: 12; }
    CostScreen #llm-title { display: none; }
    CostScreen #llm { height: 5; display: none; }
    CostScreen.-llm #llm-title { display: block; }
    CostScreen.-llm #llm { display: block; }
    CostScreen.-llm.-h-l #llm { height: 8; }
    """
    PER_1K = [
        Col("version", "VERSION", width=8),
        Col("prompt", "PROMPT", width=8),
        Col("requests", "REQUESTS (7d)", width=13),
        Col("cost", "COST", width=10),
        Col("per1k", "$/1K", width=8),
    ]
    LLM = [
        Col("prompt", "PROMPT", width=7),
        Col("requests", "REQUESTS", width=9),
        Col("tokens", "TOK/REQ", width=8),
        Col("in", "IN", width=7, min_width=100),
        Col("out", "OUT", width=6, min_width=100),
        Col("refusal", "REFUSAL", width=7),
        Col("blocks", "BLOCKS", width=7),
        Col("block_rate", "BLOCK%", width=6, min_width=120),
        Col("factuality", "FACTUAL", width=7),
    ]

    def compose_body(self) -> ComposeResult:
        llm = bool(self.model) and self.app.cfg.model(self.model).task == "llm"
        self.set_class(llm, "-llm")
        yield Static(Text("loading...", style="dim"), id="cost-head", classes="head")
        cols = self.PER_1K if llm else [c for c in self.PER_1K if c.key != "prompt"]
        yield FilterTable(cols, id="per1k")
        yield TimeChart("cost per hour, last 48h", unit="", lo=0.0, id="hourly")
        yield Static("LLM usage by prompt version (7d)", id="llm-title", classes="title")
        yield FilterTable(self.LLM, id="llm")

    def refresh_data(self) -> None:
        if not self.model:
            return
        model, env = self.model, self.env
        self.fetch("cost", lambda svc: _cost(svc, model, env))

    def show(self, tag: str, result: Any) -> None:
        if tag != "cost":
            return
        self.query_one("#cost-head", Static).update(self._head(result))
        table = self.query_one("#per1k", FilterTable)
        keys = [c.key for c in table.columns]
        table.set_rows(
            (f"{r.get('version')}\x00{r.get('prompt_version')}", _pick(keys, {
                "version": safe(f"v{r['version']}" if r.get("version") else "-"),
                "prompt": safe(r.get("prompt_version") or "-"), "requests": count(r.get("requests")),
                "cost": usd(r.get("cost_usd")), "per1k": usd(r.get("cost_per_1k"), 3)}))
            for r in result["per_1k"])
        values, times = result["hourly"]
        self.query_one("#hourly", TimeChart).set_series(values, times=times, window=result["range"],
                                                        title="cost per hour ($), last 48h")
        llm = result["llm"]
        if llm:
            self.add_class("-llm")
        self.query_one("#llm", FilterTable).set_rows(
            (str(u.prompt_version), [
                safe(u.prompt_version or "-"), count(u.requests),
                num((u.input_tokens_mean or 0) + (u.output_tokens_mean or 0), 0)
                if u.input_tokens_mean is not None or u.output_tokens_mean is not None else num(None),
                num(u.input_tokens_mean, 0), num(u.output_tokens_mean, 0), pct(u.refusal_rate, 1),
                count(u.guardrail_blocks), pct(u.guardrail_block_rate, 1), num(u.factuality_mean, 3)])
            for u in llm)

    def _head(self, c: dict) -> Text:
        w, b, s = c["window"], c["budget"], c["spike"]
        rows = []
        # the 7 days the table covers: with no row there, say so and where the newest is (as the Drift screen)
        empty = self.empty_window_note(timedelta(days=7), has_rows=any(r.get("requests") for r in c["per_1k"]))
        if w is None:
            # the note alone when there is one: after "no priced traffic yet", 80 columns cut the newest row's time
            rows.append(line("SPEND", empty or Text("no priced traffic yet", style="dim")))
        else:
            if empty is not None:
                rows.append(line("SPEND", empty))
            rows.append(line("TODAY", usd(w.today_usd, justify="left"), f"{w.today_requests:,} req",
                             f"{usd(w.today_per_1k, 3).plain}/1k",
                             Text("7 DAYS ", style="bold") + usd(w.week_usd, justify="left"),
                             f"{w.week_requests:,} req", f"{usd(w.week_per_1k, 3).plain}/1k"))
        if b.budget_usd_month:
            over = b.projected_share is not None and b.projected_share > 1
            rows.append(line("BUDGET", f"${b.spent_usd:,.2f} of ${b.budget_usd_month:,.0f}/month "
                                       f"({pct(b.share_used).plain} used)",
                             Text(f"month-end ${b.projected_usd:,.0f} ({pct(b.projected_share, 0).plain})",
                                  style="bold reverse" if over else ""),
                             Text(f"{100 * b.elapsed_fraction:.0f}% of month gone", style="dim")))
        else:
            rows.append(line("BUDGET", f"${b.spent_usd:,.2f} this month", Text("no budget set", style="dim")))
        rule_spike = c.get("rule_spike")
        if rule_spike is not None:  # the cost_spike alert's definition, with its threshold
            rule, ev = rule_spike
            if ev is None or ev.value is None:
                rows.append(line("SPIKE", Text(f"no version or prompt change to compare (rule > {rule.threshold:g}x)",
                                               style="dim")))
            else:
                cells = [safe(ev.note), f"ratio {ev.value:.2f}x (rule {rule.op} {rule.threshold:g}x)"]
                if ev.breach:  # the incident's onset (`incident_rules._estimate`: the evaluation's start, the
                    # stretch before the change ends there), as Incidents and `check` say it, not the first row after
                    cells.insert(0, Text(f"SPIKING since {ts(ev.start)}", style="bold reverse"))
                else:
                    cells.append(Text("no spike", style="dim"))
                rows.append(line("SPIKE", *cells))
        spike = [f"last hour ${s.rate_usd_per_hour:,.2f}/h",
                 f"baseline ${s.baseline_usd_per_hour:,.2f}/h" if s.baseline_usd_per_hour is not None else "no baseline",
                 f"ratio {rate(s.ratio)} (hourly view, not an alert)"]
        if s.spiking:
            spike.insert(0, Text(f"above {s.factor:g}x since {ts(s.onset)}", style="bold"))
        rows.append(line("HOURLY", *spike))
        if c.get("note"):  # read from hourly rollups (data-safe: the note may name a remote path)
            rows.append(line("SOURCE", Text(safe(c["note"]).plain, style="dim")))
        return lines(rows)


def _pick(keys: list[str], cells: dict) -> list:
    return [cells[k] for k in keys]


def _cost(svc, model: str, environment: str) -> dict:
    c = svc.cost(model, environment=environment)
    return {"window": c["windows"][0] if c["windows"] else None, "budget": c["budget"], "spike": c["spike"],
            "rule_spike": c.get("rule_spike"), "note": c.get("note"),
            "per_1k": c["per_1k"].to_dicts(), "hourly": timed(c["hourly"], "cost_usd"), "llm": c["llm"],
            "range": (svc.clock() - timedelta(hours=48), svc.clock())}


register_screen("cost", "Cost", CostScreen, needs_model=True, order=60,
                help="spend today/7d, per 1k by version and prompt, budget, spikes, LLM usage")
