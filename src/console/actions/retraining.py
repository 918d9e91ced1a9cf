"""Retraining: asking the training system for a new version (`Retraining`, a mixin of `actions.operator.Operator`),
under the model's lock as every action, audited from intent to outcome, never twice for one request."""

from __future__ import annotations

from typing import Any

from console.actions import audit as audit_mod
from console.actions import hooks
from console.actions.audit import AuditError, AuditTampered
from console.actions.inflight import Abandoned, Flight
from console.actions.locks import Timeout, model_lock
from console.actions.records import ActionResult, abandoned
from console.aliases import alias_name
from console.sources.registry import RegistryError


class Retraining:
    """`Operator`'s retrain action and the following of its job."""

    def retrain(self, model: str, env: str = "production", reason: str = "", evidence: dict | None = None,
                data_window: dict | str | None = None) -> ActionResult:
        """Ask the training system for a new version; the answer may carry a `status_url` to follow."""
        refused = self.admit("retrain", model, env)
        if refused is not None:
            return refused
        if not hooks.configured(self.cfg, "retrain"):
            return self.refuse("failed", "no retrain hook configured: add [webhooks.retrain] url or command",
                               "retrain", model, env, {"config_error": True})
        try:
            version = self.registry.alias_version(model, alias_name(env, "champion"))
        except RegistryError as exc:
            return self.refuse("failed", f"{exc}; retrain not requested", "retrain", model, env,
                               {"registry_error": True})
        evidence = evidence or {}
        window = data_window if data_window is not None else evidence.get("data_window")
        asked = self._now()
        with self.flights.start("retrain", model, env) as flight:
            # the model's lock, as every other action takes it: two operators (or a cron `auto-retrain` beside
            # the TUI's T) started two training pipelines at once (thirtieth session's actions probe)
            lock = flight.lock = model_lock(self.lock_dir, model, self.lock_wait_s)
            try:
                flight.step("lock")
                lock.acquire()
                other = self._retrain_since(model, env, asked)
                if other is not None:  # requested while this one waited for the lock: not requested twice
                    return self._refuse("conflict", f"{other.get('actor') or 'another operator'} requested a retrain "
                                        f"of {model} at {other.get('ts')}, running when this one was asked; not "
                                        "requested again", "retrain", model, env)
                return self._retrain(model, env, reason, evidence, window, version, flight)
            except Timeout:
                return self._refuse("conflict", f"another action on {model} is still running on this machine",
                                    "retrain", model, env)
            except Abandoned:
                return abandoned(flight)
            finally:
                flight.release()

    def _retrain_since(self, model: str, env: str, since: str) -> dict | None:
        """`audit.retrain_since` of the model's trail (none when the trail cannot be read)."""
        try:
            return audit_mod.retrain_since(audit_mod.read(self.audit.path, model), since, env)
        except OSError:
            return None

    def _retrain(self, model: str, env: str, reason: str, evidence: dict, window: Any, version: str | None,
                 flight: Flight) -> ActionResult:
        fields = dict(reason=reason, evidence=evidence, data_window=window, **{"from": version, "to": None})
        try:
            action_id = flight.record_intent(lambda: self.audit.intent("retrain", model, env, **fields),
                                             {"reason": reason})
        except AuditError as exc:
            return ActionResult(False, "refused" if isinstance(exc, AuditTampered) else "failed",
                                f"{exc}; retrain not requested", details={"audit_error": True})
        payload = {"action": "retrain", "action_id": action_id, "model": model, "version": version,
                   "environment": env, "reason": reason, "evidence": evidence, "data_window": window,
                   "actor": self.user.name}
        flight.step("hook")
        try:
            hook = hooks.invoke(self.cfg, "retrain", payload, action_id, self.backoff_s)
        except BaseException as exc:  # the intent gets its outcome whatever happens
            hook = hooks.HookResult(False, unknown=True, message=f"retrain hook interrupted ({type(exc).__name__})")
            try:
                flight.claim()
                self.audit.outcome(action_id, "retrain", model, env, "unknown", message=hook.message, reason=reason)
            finally:
                if not isinstance(exc, Exception):
                    raise
            return ActionResult(False, "unknown", hook.message, action_id, version, None,
                                {"hook": hook.to_record(), "status_url": None})
        status = "done" if hook.ok else "unknown" if hook.unknown else "failed"
        message = hook.message + ("" if hook.ok else ": unknown: the training system may have started it; check "
                                  "it before re-running" if hook.unknown else "; no retrain started")
        details = {"hook": hook.to_record(), "status_url": hook.status_url}
        flight.claim()
        try:
            self.audit.outcome(action_id, "retrain", model, env, status, message=message, reason=reason,
                               hooks={"retrain": hook.to_record()})
        except AuditError as exc:
            message += f" (warning: {exc})"
        return ActionResult(hook.ok, status, message, action_id, version, None, details)

    def follow(self, status_url: str, max_wait_s: float = 0.0) -> dict[str, Any]:
        """Poll a retrain job's status URL with the retrain hook's headers."""
        return hooks.follow(status_url, self.cfg.webhooks.get("retrain"), max_wait_s=max_wait_s)
