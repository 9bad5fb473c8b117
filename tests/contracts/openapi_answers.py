"""Every answer the suite receives through the `api` client is checked against the app's published OpenAPI document
(`app.openapi()`, what `/openapi.json` serves): a JSON answer must match the schema its route documents for its
status, and a success status must be documented. So the document stays true: a route whose answer drifts from its
declared response model fails whichever test called it, with the route and the first differences."""

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator


@dataclass
class OpenApiAnswers:
    document: dict[str, Any]
    checked: int = 0
    _routes: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    _validators: dict[tuple[str, str, str], Draft202012Validator | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for template in self.document["paths"]:  # in registration order: the order FastAPI matches in
            pattern = re.sub(r"\{[^/]+\}", "[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
            self._routes.append((re.compile(f"^{pattern}$"), template))

    def template_of(self, method: str, path: str) -> str | None:
        for pattern, template in self._routes:
            if pattern.match(path) and method in self.document["paths"][template]:
                return template
        return None

    def validator(self, template: str, method: str, status: int) -> Draft202012Validator | None:
        key = (template, method, str(status))
        if key not in self._validators:
            responses = self.document["paths"][template][method]["responses"]
            documented = responses.get(str(status)) or responses.get("default")
            if documented is None:
                if 200 <= status < 300:
                    raise AssertionError(f"{method.upper()} {template} answered {status}, which its OpenAPI "
                                         f"operation does not document (it documents {sorted(responses)})")
                self._validators[key] = None
            else:
                schema = documented.get("content", {}).get("application/json", {}).get("schema")
                self._validators[key] = None if schema is None else Draft202012Validator(
                    {**schema, "components": self.document.get("components", {})})
        return self._validators[key]

    def check(self, response: httpx.Response) -> None:
        method, path = response.request.method.lower(), response.request.url.path
        template = self.template_of(method, path)
        if template is None or not response.headers.get("content-type", "").startswith("application/json"):
            return  # not a documented JSON operation (the inbox's HTML, a CSV export, an unknown path's 404)
        validator = self.validator(template, method, response.status_code)
        if validator is None:
            return
        errors = sorted(validator.iter_errors(json.loads(response.content)), key=lambda e: list(e.absolute_path))
        self.checked += 1
        if errors:
            shown = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:200]}"
                              for e in errors[:5])
            raise AssertionError(f"{method.upper()} {path} ({template}) answered {response.status_code} with a body "
                                 f"its OpenAPI document does not describe: {shown}")

    async def hook(self, response: httpx.Response) -> None:
        """An httpx response event hook."""
        await response.aread()
        self.check(response)
