"""Deployments (`:deployments`, for a model): what serves now in every environment (champion, canary with
its traffic %, shadow, blue/green slots, from the registry's aliases) and the timeline, newest first:
deployment events from the logs merged with the audit trail's records for the model (outcomes,
refusals and INCOMPLETE intents; an intent whose outcome exists is folded into the outcome).

Actions (P + F A R T S) apply to the environment of the selected row (either table); promote takes the
selected timeline row's version (or the running canary). tab switches between the tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from console.actions import audit
from console.aliases import alias_name, parse_alias
from console.ui.navigation import register_screen
from console.ui.screens.action_flow import ActionsMixin, action_bindings
from console.ui.screens.base import ConsoleScreen
from console.ui.screens.registry import as_datetime, vtext, when
from console.ui.text import printable, safe
from console.ui.widgets import Col, FilterTable

TIMELINE_LIMIT = 300


def environments(cfg, aliases: dict[str, str]) -> list[str]:
    """Configured environments (production first), then any seen only in the aliases."""
    envs = list(dict.fromkeys(["production", *cfg.environments, *(parse_alias(a)[0] for a in aliases)]))
    return sorted(envs, key=lambda e: (0 if cfg.environment(e).production or e == "production" else 1,
                                       envs.index(e)))


def load_deployments(svc, model: str) -> dict[str, Any]:
    """Worker: serving per environment (registry), deployment events and audit records for `model`. Without a
    registry (none configured, or not answering) the deployment log still tells what serves, and says so."""
    registry = None
    try:
        info = svc.model_info(model)
        aliases, tags = dict(info.aliases), dict(info.tags)
    except Exception as exc:  # noqa: BLE001 - the registry's failure is said in place; the events still show
        aliases, tags, registry = {}, {}, str(exc)
    try:  # the deployment events up to the view's end (`svc.clock()`: the time cursor when not live)
        folded = {env: s for (m, env), s in svc.serving().items() if m == model}
    except Exception:  # noqa: BLE001 - no deployment log: the aliases still tell what serves
        folded = {}
    past = getattr(svc, "at", None)
    serving = []
    for env in dict.fromkeys([*environments(svc.cfg, aliases), *folded]):
        if past is None and registry is None:
            roles = {role: aliases.get(alias_name(env, role)) for role in ("champion", "canary", "shadow", "blue",
                                                                            "green")}
            pct = svc.canary_pct(model, env, aliases, tags) if roles["canary"] else None
        else:  # a view of the past: what the events say served then, not the registry's aliases now (they moved
            s = folded.get(env)  # since, and the table contradicted the Overview at the same time)
            slots = dict(s.slots) if s is not None else {}
            roles = {"champion": s.champion if s else None, "canary": s.canary if s else None,
                     "shadow": s.shadow if s else None, "blue": slots.get("blue"), "green": slots.get("green")}
            pct = s.canary_pct if s is not None and s.canary else None
        serving.append({"environment": env, "pct": pct, **roles})
    live = {env: s.describe() for env, s in folded.items()}
    events = svc.deployment_rows(model)
    records = audit.read(audit.default_path(svc.cfg), model=model)
    if past is not None:  # and the audit records up to it, as the events are
        records = [r for r in records if (t := as_datetime(r.get("ts"))) is not None and t <= past]
    return {"serving": serving, "live": live, "timeline": timeline(events, records)[:TIMELINE_LIMIT],
            "registry": registry}


def timeline(events: list[dict], records: list[dict]) -> list[dict]:
    """Deployment events and audit records as one list, newest first."""
    out = []
    for e in events:
        pct = e.get("traffic_pct")
        out.append({"ts": as_datetime(e.get("ts")), "source": "deploy", "environment": e.get("environment"),
                    "action": e.get("action") or "", "strategy": e.get("strategy") or "",
                    "change": vtext(e.get("version")), "version": e.get("version"),
                    "traffic": f"{pct:.0f}%" if isinstance(pct, (int, float)) else "",
                    "actor": e.get("actor") or "", "outcome": "", "text": e.get("reason") or ""})
    done = {r.get("action_id") for r in records if r.get("phase") == "outcome"}
    for r in records:
        phase = r.get("phase")
        if phase == "intent" and r.get("action_id") in done:
            continue  # its outcome says it all
        outcome = r.get("outcome") or ""
        if phase == "intent":
            outcome = "INCOMPLETE"
        frm, to = r.get("from"), r.get("to")
        change = f"{vtext(frm)}->{vtext(to)}" if (frm or to) else ""
        pct = r.get("traffic_pct")
        out.append({"ts": as_datetime(r.get("ts")), "source": "audit", "environment": r.get("environment"),
                    "action": r.get("action") or "", "strategy": r.get("strategy") or "", "change": change,
                    "version": to, "traffic": f"{pct}%" if isinstance(pct, (int, float)) else "",
                    "actor": r.get("actor") or "", "outcome": outcome,
                    "text": r.get("message") or r.get("reason") or "", "action_id": r.get("action_id")})
    out.sort(key=lambda x: x["ts"] or datetime.min, reverse=True)
    return out


def outcome_text(outcome: str) -> Text:
    if outcome == "INCOMPLETE":
        return Text("INCOMPLETE", style="bold reverse")
    if outcome in ("failed", "conflict", "refused"):
        return Text(outcome.upper(), style="bold")
    return safe(outcome)


class DeploymentsScreen(ActionsMixin, ConsoleScreen):
    SCREEN_NAME = "deployments"
    SCREEN_TITLE = "Deployments"
    DEFAULT_CSS = """
    DeploymentsScreen #serving { height: auto; max-height: 7; }
    DeploymentsScreen #serving > DataTable { height: auto; max-height: 6; }
    DeploymentsScreen #timeline-title { height: auto; max-height: 3; padding: 0 1; text-style: bold; }
    DeploymentsScreen #timeline { height: 1fr; }
    """
    BINDINGS = [*action_bindings()]
    SERVING = [
        Col("env", "ENV", width=12),
        Col("champion", "CHAMPION", width=8),
        Col("canary", "CANARY", width=10),
        Col("shadow", "SHADOW", width=6),
        Col("blue", "BLUE", width=5),
        Col("green", "GREEN", width=5),
        Col("live", "LIVE (deployment log)", width=30, min_width=110),
    ]
    TIMELINE = [
        Col("ts", "WHEN", width=11),
        Col("source", "SRC", width=6),
        Col("env", "ENV", width=10),
        Col("action", "ACTION", width=13),
        Col("change", "VERSION", width=9),
        Col("traffic", "TRAF", width=4),
        Col("actor", "ACTOR", width=12, min_width=104),
        Col("outcome", "OUTCOME", width=10),
        Col("text", "REASON / MESSAGE", width=40, min_width=130, wide_width=60),
    ]

    def __init__(self, model: str | None = None, environment: str | None = None, **kwargs):
        super().__init__(model, environment, **kwargs)
        self.serving: dict[str, dict] = {}
        self.events: dict[str, dict] = {}
        self.loaded = False
        self._view = 0  # bumped by each move of the time cursor: a load begun before it is of no view now

    def crumb(self) -> str:
        return "Deployments"

    def compose_body(self) -> ComposeResult:
        yield FilterTable(self.SERVING, id="serving")
        yield Static("Timeline (deployment log + audit trail, newest first)", id="timeline-title")
        yield FilterTable(self.TIMELINE, id="timeline")

    def on_mount(self) -> None:
        self.focus_table()
        self.load()

    def load(self) -> None:
        if not self.model:
            return
        model, view = self.model, self._view  # (asked while a read runs: read again when it lands, `read`)
        self.read("deployments", lambda svc: (view, load_deployments(svc, model)))

    def view_moved(self) -> None:
        """The time cursor moved: what serves and the timeline are the view left's (the live champion stayed under
        the header of a view before its deploy until the reload landed); emptied until the new view's load lands."""
        self._view += 1
        self.serving, self.events = {}, {}
        self.query_one("#serving", FilterTable).set_rows([])
        self.query_one("#timeline", FilterTable).set_rows([])
        self.query_one("#timeline-title", Static).update(Text("reading the deployments at the new time...",
                                                              style="dim"))

    def show_snapshot(self, snap) -> None:
        self.load()

    def after_action(self, result) -> None:
        self.load()

    # ------------------------------------------------------------------ results

    def handle_result(self, tag: str, result: Any) -> None:
        if self.flow.handle_result(tag, result):
            return
        if tag != "deployments":
            return
        view, result = result
        if view != self._view:  # read for the view left
            self.load()
            return
        first = not self.loaded
        self.loaded = True
        serving_now = {s["environment"]: s for s in result["serving"]}
        moved = serving_now != self.serving  # aliases changed (or first load): the action state may have too
        self.serving = serving_now
        serving = self.query_one("#serving", FilterTable)
        serving.set_rows((env, self._serving_cells(s, result["live"].get(env, ""))) for env, s in self.serving.items())
        self.events = {}
        rows = []
        for i, e in enumerate(result["timeline"]):
            key = f"{e['source']}:{e.get('action_id') or ''}:{e['ts']}:{i}"
            self.events[key] = e
            rows.append((key, self._event_cells(e)))
        self.query_one("#timeline", FilterTable).set_rows(rows)
        title = "Timeline (deployment log + audit trail, newest first)"
        if result.get("registry"):  # said in place, not only in a toast that fades
            title += f"; serving from the deployment log: {printable(result['registry'])}"
        self.query_one("#timeline-title", Static).update(Text(title))
        if first and self.environment and self.environment in self.serving:
            serving.select_key(self.environment)
        if moved or not all(env in self.flow.states for env in self.serving):
            for env in self.serving:
                self.flow.refresh_state(env)

    def _serving_cells(self, s: dict, live: str) -> list:
        env = s["environment"]
        prod = self.app.cfg.environment(env).production
        canary = f"{vtext(s['canary'])} {s['pct']}%" if s["canary"] else "-"
        return [safe(env, style="bold" if prod else ""), safe(vtext(s["champion"]), style="bold"),
                safe(canary), safe(vtext(s["shadow"])), safe(vtext(s["blue"])), safe(vtext(s["green"])),
                safe(live or "-")]

    @staticmethod
    def _event_cells(e: dict) -> list:
        action = e["action"] + (f" {e['strategy']}" if e["strategy"] and e["strategy"] not in ("direct",) else "")
        return [Text(when(e["ts"])), Text(e["source"], style="dim" if e["source"] == "deploy" else "bold"),
                safe(e["environment"] or "-"), safe(action), safe(e["change"]), safe(e["traffic"]),
                safe(e["actor"]), outcome_text(e["outcome"]), safe(e["text"])]

    # ------------------------------------------------------------------ actions

    def selected_event(self) -> dict | None:
        table = self.active_table()
        if table is None or table.id != "timeline" or not table.selected_key:
            return None
        return self.events.get(table.selected_key)

    def action_target(self, action_id: str) -> tuple[str, str | None]:
        table = self.active_table()
        env = self.environment or "production"
        version = None
        if table is not None and table.selected_key:
            if table.id == "timeline":
                e = self.events.get(table.selected_key) or {}
                env = e.get("environment") or env
                version = e.get("version")
            else:
                env = table.selected_key
                version = (self.serving.get(env) or {}).get("canary")
        return env, (str(version) if version and action_id == "promote" else None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

    def selected_id(self) -> str | None:
        e = self.selected_event()
        if e and e.get("action_id"):
            return str(e["action_id"])
        return super().selected_id()

    def commands(self):
        env, version = self.action_target("promote")
        out = [("Reload deployments", self.load, "read aliases, deployment log and audit trail again")]
        if version:
            out.append((f"Promote v{printable(version)} ({env})", lambda: self.action_act("promote"),
                        "the selected version"))
        return out + self.action_commands()


register_screen("deployments", "Deployments", DeploymentsScreen, needs_model=True,
                help="what serves where (champion, canary %, shadow, blue/green) and the rollout timeline",
                order=13)
