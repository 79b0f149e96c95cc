#!/usr/bin/env python3
"""Vigil's web console in a real browser (issue 20): headless Chromium driven by selenium.

Usage (Tests/EndToEndTests/ConsoleEndToEndTests.swift runs it against `vigil serve`):

    console_browser.py --url http://127.0.0.1:PORT \
        --admin-invite URL --partner-invite URL --desk-invite URL --operator-invite URL \
        --api-token BOOTSTRAP_TOKEN --subscriber-id SUB_ID_OF_THE_DESK --screenshots DIR

The four invitations come from `vigil users invite … --json`; only their path is used, on
`--url` (the command line may print another host). `--admin-email` (and `--partner-email`,
`--desk-email`, `--operator-email`) name the accounts; without them the email is read from the
otpauth URI's label. The desk's invitation must bind it to `--subscriber-id`, a subscriber of
its organisation following BY at clearance `restricted`, whose acknowledgements the filer may see. The bootstrap token (`--api-token`) is used for
checks through the API only, never to drive the console.

What it does, one line per step (`ok <step>` or `FAIL <step>: <why>`, then `N passed, M failed`;
exit status 0 only when every step passed):

- invitations: TOTP enrolment for all four (secret, otpauth URI, inline SVG QR code; the
  operator's invitation is refused without a code), landing on the login page;
- login: a wrong password and a wrong email give the same message; each account logs in with a
  fresh TOTP code (a 30 s step is accepted once per account, so the script waits when needed);
- filing (partner): a refused filing shows each problem next to its field (the API's own 422
  messages, linked by aria-describedby) and keeps the text; the fixed one lands on the alert's page; back and submit again files once (checked through
  `GET /v1/alerts?country=BY`);
- desk: the alert is in its feed without the defender's name (clearance restricted, alert
  confidential); it acknowledges (`acting`) on the alert page and sees its row on the board;
- partner: sees the desk's board row, files an update on the case (the case lists two alerts);
- operator: previews and confirms a replay, opens dead letters, audit (the partner's filing is
  there), subscribers; admin: invites from the users page;
- CSRF: forged POSTs (no token; `Sec-Fetch-Site: cross-site`; a foreign `Origin`) are 403 and file
  nothing; the session cookie is HttpOnly, SameSite=Strict, Path=/console;
- the filing flow again in a second browser with JavaScript disabled; the filing form with
  the keyboard alone; an unknown console path is the console's 404 page; logout ends the
  session; `Accept-Language: fr` gives `<html lang="fr">`;
- on every response the browser got (Chrome's performance log): the security headers,
  `Cache-Control: no-store` on pages with alert content, and every page with its assets under
  100 KB (the largest is reported); on every page: `lang`, one `h1`, `main#main`, a label for
  every field, a hidden `csrf_token` in every state-changing form.

Screenshots of every page go to `--screenshots` as `NN-name.png` (`NN-FAIL-step.png` where a
step failed). Every wait is bounded (10 s), no step starts after 170 s and the run is stopped at
185 s; the browsers are always quit and their fresh profiles removed.
"""

import argparse
import html.parser
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

import pyotp
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 10  # seconds, the bound of every wait on the browser
FIND_WAIT = 3  # seconds for an element of a page already loaded (pages are rendered by the server)
RUN_BUDGET = 170  # seconds for the steps; no new step starts past it
HARD_STOP = 185  # seconds: past this the run is interrupted, the browsers quit and the run fails
PAGE_BUDGET = 100 * 1024  # bytes, a page with its assets
PASSWORD = "correct horse battery staple 2026!"
PARTNER_NAME = "Halina Krasnapolskaya"  # distinctive defender names: the desk must not see them
NO_SCRIPT_NAME = "Yuras Bialiatsky-Nieborski"
SUMMARY = "Union chair Halina K. taken from her flat in Minsk at dawn; lawyer refused access (browser test)."
NO_SCRIPT_SUMMARY = "Second filing without JavaScript: union steward detained in Gomel (browser test)."
LINKS = "https://example.org/report-1\nhttps://example.org/report-2"
TAGS = "union\nminsk"
FORGED_SUMMARY = "Forged cross-site filing that must never be recorded (browser test)."
SECURITY_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}
CSP_PARTS = ["default-src 'self'", "frame-ancestors 'none'", "form-action 'self'"]
NO_STORE_PATH = re.compile(r"^/console/(alerts|alerts/[^/]+|cases/[^/]+)$")
FILING_FIELDS = [
    "country", "region", "threat", "severity", "urgency", "certainty", "confidentiality", "summary", "summary_public",
    "language", "occurred_at", "defender.name", "defender.organisation", "defender.role", "defender.group", "links", "tags",
    "handling.no_public_statement", "handling.no_contact_with_authorities", "handling.no_contact_with_defender",
    "handling.exclude_kinds", "handling.exclude_subscribers", "handling.note", "kind", "case_id",
]
SUBSCRIBER_KINDS = {"diplomatic_desk", "eu_delegation", "embassy", "ngo", "other"}


class StepFailure(Exception):
    """A step's expectation that did not hold; its text is the `FAIL` line's reason."""


class OutOfTime(BaseException):
    """The hard stop: not an `Exception`, so no step takes it for its own failure."""


def out_of_time(signum, frame):
    raise OutOfTime(f"the run passed {HARD_STOP} s")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Lets urllib report a redirect instead of following it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def expect(condition, why):
    if not condition:
        raise StepFailure(why)


class PageShape(html.parser.HTMLParser):
    """What the page-structure rules need from a page's markup: lang, h1s, main, fields, labels, forms."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lang = None
        self.h1 = 0
        self.main_ids = []
        self.assets = set()  # what the page loads: stylesheets, icons, scripts, images
        self.fields = []  # (tag, type, name, id)
        self.label_fors = set()
        self.forms = []  # {"method", "action", "hidden": set(names), "fields": int}
        self.form = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "link" and a.get("href") and {"stylesheet", "icon"} & set((a.get("rel") or "").lower().split()):
            self.assets.add(a["href"])
        elif tag in ("script", "img") and a.get("src"):
            self.assets.add(a["src"])
        elif tag == "main":
            self.main_ids.append(a.get("id"))
        elif tag == "label" and a.get("for"):
            self.label_fors.add(a["for"])
        elif tag == "form":
            self.form = {"method": (a.get("method") or "get").lower(), "action": a.get("action") or "", "hidden": set(), "id": a.get("id")}
            self.forms.append(self.form)
        elif tag in ("input", "select", "textarea"):
            kind = (a.get("type") or "text").lower() if tag == "input" else tag
            if self.form is not None and kind == "hidden" and a.get("name"):
                self.form["hidden"].add(a["name"])
            if kind not in ("hidden", "submit", "button", "reset", "image"):
                self.fields.append((tag, kind, a.get("name"), a.get("id")))

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None


class Traffic:
    """Every response one browser got, from Chrome's performance log: headers and sizes."""

    def __init__(self, base):
        self.base = base
        self.requests = {}  # requestId -> dict(url, type, loader, size, status, headers)
        self.header_problems = {}  # problem -> first url
        self.known_size = {}  # url -> largest size seen
        self.all = [self]  # every browser's traffic, for asset sizes one of them fetched

    def drain(self, driver):
        try:
            entries = driver.get_log("performance")
        except WebDriverException:
            return
        for entry in entries:
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, ValueError):
                continue
            self.take(message.get("method"), message.get("params", {}))

    def take(self, method, p):
        rid = p.get("requestId")
        if method == "Network.requestWillBeSent":
            if p.get("redirectResponse"):
                self.check(p["redirectResponse"], "Redirect")
            r = self.requests.setdefault(rid, {"size": 0, "data": 0})
            r.update(url=p["request"]["url"], type=p.get("type"), loader=p.get("loaderId"), method=p["request"].get("method"))
        elif method == "Network.responseReceived":
            r = self.requests.setdefault(rid, {"size": 0, "data": 0})
            response = p["response"]
            r.update(url=response["url"], type=p.get("type"), status=response.get("status"))
            r.setdefault("loader", p.get("loaderId"))
            self.check(response, p.get("type"))
        elif method == "Network.dataReceived" and rid in self.requests:
            self.requests[rid]["data"] += int(p.get("dataLength", 0))
        elif method == "Network.loadingFinished" and rid in self.requests:
            r = self.requests[rid]
            r["size"] = max(int(p.get("encodedDataLength", 0)), r["data"])
            url = r.get("url")
            if url:
                self.known_size[url] = max(self.known_size.get(url, 0), r["size"])

    def console(self, url):
        return url.startswith(self.base + "/console")

    def check(self, response, kind):
        url = response.get("url", "")
        if not self.console(url):
            return
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        path = urllib.parse.urlsplit(url).path
        csp = headers.get("content-security-policy", "")
        for part in CSP_PARTS:
            if part not in csp:
                self.header_problems.setdefault(f"Content-Security-Policy without {part} (seen {csp!r})", path)
        for name, value in SECURITY_HEADERS.items():
            if headers.get(name, "").strip().lower() != value:
                self.header_problems.setdefault(f"{name}: expected {value}, seen {headers.get(name)!r}", path)
        if kind == "Document" and response.get("status") == 200 and NO_STORE_PATH.match(path):
            if "no-store" not in headers.get("cache-control", ""):
                self.header_problems.setdefault(f"Cache-Control without no-store on a page with alert content (seen {headers.get('cache-control')!r})", path)

    def pages(self, referenced):
        """(url, bytes with assets, assets) for every console page the browser loaded: the assets
        it fetched, and those its markup names (`referenced`: url -> urls), which a cached load
        may not show in the log; each asset at the largest size it was ever fetched at."""
        by_loader = {}
        for r in self.requests.values():
            by_loader.setdefault(r.get("loader"), []).append(r)
        out = []
        for rs in by_loader.values():
            for doc in rs:
                if doc.get("type") != "Document" or not self.console(doc.get("url", "")) or doc.get("status") != 200:
                    continue
                assets = {r["url"] for r in rs if r.get("type") != "Document" and r.get("url")} | referenced.get(doc["url"], set())
                size = max(doc["size"], 0) + sum(max(t.known_size.get(u, 0) for t in self.all) for u in assets)
                out.append((doc["url"], size, assets))
        return out


class ConsoleRun:
    """One run of every step against one console."""

    def __init__(self, args):
        self.args = args
        self.base = args.url.rstrip("/")
        self.started = time.monotonic()
        self.passed = 0
        self.failed = 0
        self.shots = 0
        self.structure_problems = {}  # problem -> page
        self.referenced = {}  # page url -> the asset urls its markup names
        self.browsers = []  # (driver, traffic)
        self.profiles = []  # the browsers' fresh profile directories, removed at the end
        self.secrets = {}
        self.last_step = {}
        self.emails = {}
        self.sessions = {}
        self.alert_id = None
        # One time for every filing: a second submit of the same form must be the same body.
        self.occurred = (datetime.now(timezone.utc) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.partner_account = None  # acct_…, read from the admin's users page
        self.driver = None

    # ---- the browser ----

    def browser(self, javascript=True):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        profile = tempfile.mkdtemp(prefix="vigil-chromium-")
        self.profiles.append(profile)
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000", f"--user-data-dir={profile}"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        if not javascript:
            options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(WAIT)
        traffic = Traffic(self.base)
        self.browsers.append((driver, traffic))
        for _, other in self.browsers:
            other.all = [t for _, t in self.browsers]
        return driver

    def drain(self, driver=None):
        for d, t in self.browsers:
            if driver is None or d is driver:
                t.drain(d)

    def open(self, driver, path, name):
        driver.get(path if path.startswith("http") else self.base + path)
        self.look(driver, name)

    def submit(self, driver, selector, name, element=None):
        """Clicks the submit control and waits for the next page."""
        old = driver.find_element(By.TAG_NAME, "html")
        (element or self.find(driver, By.CSS_SELECTOR, selector)).click()
        self.wait_for_new_page(driver, old)
        self.look(driver, name)

    def form_of(self, driver, field):
        """The form that holds the field named `field`."""
        return self.field(driver, field).find_element(By.XPATH, "./ancestor::form")

    def submit_in(self, driver, form, name):
        """Submits `form` with its own submit button (not, say, the header's logout button)."""
        buttons = form.find_elements(By.CSS_SELECTOR, "button[type=submit], input[type=submit], button:not([type])")
        expect(buttons, f"a form on {self.path(driver)} has no submit button")
        self.submit(driver, None, name, element=buttons[0])

    def wait_for_new_page(self, driver, old):
        def gone(_):
            try:
                old.is_enabled()
                return False
            except WebDriverException:  # stale, or (mid-navigation) no longer in the document
                return True
        try:
            WebDriverWait(driver, WAIT).until(gone)
            WebDriverWait(driver, WAIT).until(EC.presence_of_element_located((By.TAG_NAME, "body")))
        except TimeoutException:
            raise StepFailure(f"no new page within {WAIT} s (still at {self.path(driver)})")

    def look(self, driver, name):
        """Screenshot, page-structure rules, and the responses so far."""
        self.shots += 1
        try:
            driver.save_screenshot(f"{self.args.screenshots}/{self.shots:02d}-{name}.png")
        except WebDriverException:
            pass
        self.drain(driver)
        path = self.path(driver)
        source = driver.page_source
        if not path.startswith("/console") or 'id="main-frame-error"' in source:
            return  # not a console page, or Chrome's own error page (a POST's answer not cached)
        shape = PageShape()
        shape.feed(source)
        self.referenced.setdefault(driver.current_url, set()).update(urllib.parse.urljoin(driver.current_url, u) for u in shape.assets)
        where = f"{path} ({self.shots:02d}-{name})"
        if not shape.lang:
            self.structure_problems.setdefault("<html> without lang", where)
        if shape.h1 != 1:
            self.structure_problems.setdefault(f"{shape.h1} <h1> elements, expected exactly one", where)
        if "main" not in shape.main_ids:
            self.structure_problems.setdefault('no <main id="main">', where)
        for tag, kind, field, ident in shape.fields:
            if not ident or ident not in shape.label_fors:
                self.structure_problems.setdefault(f"<{tag} name={field!r} type={kind}> without a <label for=…>", where)
        for form in shape.forms:  # sign-in and invitation forms too: they are bound to the pre-session
            if form["method"] == "post" and "csrf_token" not in form["hidden"]:
                self.structure_problems.setdefault(f"POST form {form['id'] or form['action']!r} without a hidden csrf_token", where)

    def path(self, driver):
        return urllib.parse.urlsplit(driver.current_url).path

    def find(self, driver, by, value, what=None):
        """An element of the page just loaded; when missing, the failure quotes the page's #problems."""
        try:
            return WebDriverWait(driver, FIND_WAIT).until(EC.presence_of_element_located((by, value)))
        except TimeoutException:
            problems = driver.find_elements(By.ID, "problems")
            said = f" (its #problems: {problems[0].text.strip()[:240]!r})" if problems else ""
            raise StepFailure(f"{what or value} not found on {self.path(driver)}{said}")

    def present(self, driver, by, value):
        return len(driver.find_elements(by, value)) > 0

    def field(self, driver, name, scope=None):
        elements = (scope or driver).find_elements(By.NAME, name)
        expect(elements, f"no field named {name!r} on {self.path(driver)}")
        return elements[0]

    def type_in(self, driver, name, text, scope=None):
        """Types `text` in a text field, or picks the option valued `text` in a select list."""
        element = self.field(driver, name, scope)
        if element.tag_name == "select":
            return self.choose(driver, name, text, scope)
        element.clear()
        if text:
            element.send_keys(text)

    def choose(self, driver, name, value, scope=None):
        element = self.field(driver, name, scope)
        expect(element.tag_name == "select", f"{name!r} is a <{element.tag_name}>, expected a <select>")
        try:
            Select(element).select_by_value(value)
        except WebDriverException:
            options = [o.get_attribute("value") for o in Select(element).options][:12]
            raise StepFailure(f"select {name!r} has no option {value!r} (has {options})")

    def tick(self, driver, name, value=None, on=True):
        boxes = driver.find_elements(By.NAME, name)
        if value is not None:
            boxes = [b for b in boxes if b.get_attribute("value") == value]
        expect(boxes, f"no checkbox {name!r}" + (f" with value {value!r}" if value else ""))
        if boxes[0].is_selected() != on:
            boxes[0].click()

    def value(self, driver, name):
        return self.field(driver, name).get_attribute("value") or ""

    # ---- accounts ----

    def fresh_code(self, role):
        """A TOTP code of a 30 s step this account has not used yet, not at a step's edge."""
        while True:
            now = time.time()
            step = int(now // 30)
            if step > self.last_step.get(role, -1) and now % 30 < 28.5:
                break
            self.budget(32)
            time.sleep(30 - now % 30 + 0.3)
        self.last_step[role] = step
        return pyotp.TOTP(self.secrets[role]).at(now)

    def budget(self, needed=0):
        left = RUN_BUDGET - (time.monotonic() - self.started)
        if left < needed:
            raise StepFailure(f"out of time ({left:.0f} s left of the {RUN_BUDGET} s budget)")

    def invite_path(self, url):
        parts = urllib.parse.urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def enrol(self, role, url, refuse_without_code=False):
        d = self.driver
        d.delete_all_cookies()
        self.open(d, self.invite_path(url), f"invite-{role}")
        invite_path = self.path(d)
        expect(invite_path.startswith("/console/invite/"), f"the invitation opened {invite_path}")
        secret = self.find(d, By.ID, "totp-secret").text.strip().replace(" ", "").upper()
        expect(re.fullmatch(r"[A-Z2-7]{16,}=*", secret), f"#totp-secret is not base32 text: {secret!r}")
        uri = self.find(d, By.ID, "totp-uri").text.strip()
        expect(uri.startswith("otpauth://totp/") and f"secret={secret}" in uri, f"#totp-uri is not an otpauth URI with the secret: {uri!r}")
        self.find(d, By.CSS_SELECTOR, "svg#totp-qr", "the inline SVG QR code svg#totp-qr")
        email = getattr(self.args, f"{role}_email") or urllib.parse.unquote(uri.split("?")[0].rsplit("/", 1)[-1]).split(":")[-1]
        expect("@" in email, f"no email for the {role}: give --{role}-email (the otpauth label {uri.split('?')[0]!r} has none)")
        if refuse_without_code:
            self.type_in(d, "password", PASSWORD)
            self.type_in(d, "password_confirm", PASSWORD)
            self.type_in(d, "totp", "")
            self.submit_in(d, self.form_of(d, "password"), f"invite-{role}-no-code")
            expect(self.path(d) == invite_path, f"without a TOTP code the {role} invitation went to {self.path(d)}")
            self.find(d, By.ID, "error-totp", "#error-totp (TOTP is mandatory for this role)")
            secret = self.find(d, By.ID, "totp-secret").text.strip().replace(" ", "").upper() or secret
        self.secrets[role] = secret
        self.type_in(d, "password", PASSWORD)
        self.type_in(d, "password_confirm", PASSWORD)
        self.type_in(d, "totp", self.fresh_code(role))
        self.submit_in(d, self.form_of(d, "password"), f"invite-{role}-done")
        expect(self.path(d) == "/console/login", f"after enrolment the {role} landed on {self.path(d)}, expected /console/login")
        self.find(d, By.ID, "notice", "#notice after enrolment")
        self.emails[role] = email

    def login(self, driver, role, shot):
        driver.delete_all_cookies()
        self.open(driver, "/console/login", f"{shot}-login")
        self.type_in(driver, "email", self.emails[role])
        self.type_in(driver, "password", PASSWORD)
        self.submit_in(driver, self.form_of(driver, "password"), f"{shot}-password")
        expect(self.present(driver, By.NAME, "totp"), f"no totp field after the {role}'s password (at {self.path(driver)})")
        self.type_in(driver, "totp", self.fresh_code(role))
        self.submit_in(driver, self.form_of(driver, "totp"), f"{shot}-signed-in")
        expect(self.path(driver).startswith("/console/") and self.path(driver) != "/console/login",
               f"the {role}'s login ended at {self.path(driver)}")
        self.find(driver, By.CSS_SELECTOR, "button#logout", "button#logout after login")
        if driver is self.driver:
            self.sessions[role] = driver.get_cookies()

    def become(self, role):
        """Puts `role`'s session cookie in the main browser."""
        d = self.driver
        expect(role in self.sessions, f"the {role} is not signed in")
        d.delete_all_cookies()
        for cookie in self.sessions[role]:
            cookie = {k: v for k, v in cookie.items() if k in ("name", "value", "path", "secure", "httpOnly", "expiry", "sameSite")}
            d.add_cookie(cookie)

    def cookie_header(self, role):
        return "; ".join(f"{c['name']}={c['value']}" for c in self.sessions[role])

    # ---- the API (bootstrap token; checks only) ----

    def api(self, path):
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {self.args.api_token}"})
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return json.loads(response.read())

    def alerts_with(self, text):
        alerts, after = [], "0"
        for _ in range(20):
            page = self.api(f"/v1/alerts?country=BY&limit=100&after={after}")
            alerts += page.get("alerts", [])
            if not page.get("alerts") or not page.get("next_cursor"):
                break
            after = page["next_cursor"]
        return [a for a in alerts if text in json.dumps(a, ensure_ascii=False)]

    def api_refusal(self):
        """The API's 422 messages by field for the refused filing (nothing is filed); a blank
        field of a form is an absent one, so the defender has no name here."""
        body = json.dumps({"country": "BY", "threat": "arrest", "severity": "high", "certainty": "observed", "confidentiality": "confidential",
                           "summary": SUMMARY, "occurred_at": "not a time", "defender": {"organisation": "Free Trade Union of Belarus"}}).encode()
        request = urllib.request.Request(self.base + "/v1/alerts", data=body, method="POST", headers={
            "Authorization": f"Bearer {self.args.api_token}", "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=WAIT).close()
        except urllib.error.HTTPError as error:
            expect(error.code == 422, f"the API answered the refused filing with {error.code}, expected 422")
            return {f["field"]: f["message"] for f in json.loads(error.read()).get("fields", [])}
        raise StepFailure("the API accepted the filing the console must refuse")

    def raw(self, method, path, body=None, headers=None):
        """One request with urllib, redirects not followed: (status, headers, text)."""
        opener = urllib.request.build_opener(NoRedirect)
        data = urllib.parse.urlencode(body, doseq=True).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with opener.open(request, timeout=WAIT) as response:
                return response.status, response.headers, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode("utf-8", "replace")

    # ---- steps ----

    def step(self, name, action, needs=()):
        missing = [n for n, held in needs if not held]
        try:
            if missing:
                raise StepFailure(f"not run: needs {', '.join(missing)}")
            self.budget(5)
            detail = action()
            self.passed += 1
            print(f"ok {name}" + (f": {detail}" if detail else ""), flush=True)
            return True
        except StepFailure as failure:
            why = str(failure)
        except Exception as error:  # a browser or network error is this step's failure, not the run's
            lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == __file__]
            where = f" (line {lines[-1]})" if lines else ""
            why = f"{type(error).__name__}{where}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        self.failed += 1
        print(f"FAIL {name}: {why}", flush=True)
        if self.driver is not None:
            try:
                self.shots += 1
                self.driver.save_screenshot(f"{self.args.screenshots}/{self.shots:02d}-FAIL-{name}.png")
            except WebDriverException:
                pass
        return False

    def language(self):
        status, headers, text = self.raw("GET", "/console/login", headers={"Accept-Language": "fr"})
        expect(status == 200, f"GET /console/login answered {status}")
        match = re.search(r"<html[^>]*\blang=\"?([A-Za-z-]+)", text)
        expect(match and match.group(1).lower().startswith("fr"), f"Accept-Language fr gave <html lang={match.group(1) if match else None!r}>")

    def wrong_logins(self):
        d = self.driver
        d.delete_all_cookies()
        messages = []
        for email, password, shot in ((self.emails["partner"], PASSWORD + "x", "wrong-password"),
                                      ("nobody-" + self.emails["partner"], PASSWORD, "wrong-email")):
            self.open(d, "/console/login", f"login-{shot}")
            self.type_in(d, "email", email)
            self.type_in(d, "password", password)
            self.submit_in(d, self.form_of(d, "password"), shot)
            expect(not self.present(d, By.NAME, "totp"), f"a {shot.replace('-', ' ')} reached the TOTP page")
            messages.append(self.find(d, By.ID, "problems", f"#problems after a {shot.replace('-', ' ')}").text.strip())
        expect(messages[0] == messages[1], f"a wrong password says {messages[0]!r} but a wrong email {messages[1]!r}")

    def fill_filing(self, d, summary, name, occurred_at):
        self.choose(d, "country", "BY")
        self.type_in(d, "region", "Minsk")
        self.choose(d, "threat", "arrest")
        self.choose(d, "severity", "high")
        self.choose(d, "urgency", "immediate")
        self.choose(d, "certainty", "observed")
        self.choose(d, "confidentiality", "confidential")
        self.type_in(d, "summary", summary)
        self.type_in(d, "summary_public", "A trade unionist was detained in Minsk.")
        self.choose(d, "language", "en")
        self.type_in(d, "occurred_at", occurred_at)
        self.type_in(d, "defender.name", name)
        self.type_in(d, "defender.organisation", "Free Trade Union of Belarus")
        self.type_in(d, "defender.role", "chair")
        self.choose(d, "defender.group", "trade_unionist")
        self.type_in(d, "links", LINKS)
        self.type_in(d, "tags", TAGS)
        self.tick(d, "handling.no_public_statement")
        self.tick(d, "handling.no_contact_with_authorities")
        self.tick(d, "handling.no_contact_with_defender", on=False)
        self.type_in(d, "handling.exclude_subscribers", "")
        self.type_in(d, "handling.note", "Do not call the family.")
        self.choose(d, "kind", "alert")
        self.type_in(d, "case_id", "")

    def filing_form_contract(self, d):
        names = {e.get_attribute("name") for e in d.find_elements(By.CSS_SELECTOR, "form input, form select, form textarea")}
        missing = [f for f in FILING_FIELDS + ["idempotency_key", "csrf_token"] if f not in names]
        expect(not missing, f"the filing form lacks {missing}")
        key = d.find_element(By.NAME, "idempotency_key")
        expect(key.get_attribute("type") == "hidden" and key.get_attribute("value"), "idempotency_key is not a filled hidden input")
        kinds = {b.get_attribute("value") for b in d.find_elements(By.NAME, "handling.exclude_kinds")}
        expect(kinds and kinds <= SUBSCRIBER_KINDS and all(b.get_attribute("type") == "checkbox" for b in d.find_elements(By.NAME, "handling.exclude_kinds")),
               f"handling.exclude_kinds should be checkboxes valued by subscriber kind, values {sorted(kinds)}")
        self.find(d, By.CSS_SELECTOR, "button#file", "button#file")

    def refused_filing(self, d, summary, name, shot):
        """Files with the defender's name missing and a bad time: both errors shown, the text kept."""
        self.open(d, "/console/alerts/new", f"{shot}-form")
        self.filing_form_contract(d)
        self.fill_filing(d, summary, "", "not a time")
        self.submit(d, "button#file", f"{shot}-refused")
        expect(self.path(d) == "/console/alerts/new", f"a refused filing went to {self.path(d)}")
        self.find(d, By.ID, "problems", "#problems after a refused filing")
        api = self.api_refusal()
        for field in ("defender.name", "occurred_at"):
            error = self.find(d, By.ID, f"error-{field}", f"#error-{field}")
            expect(error.text.strip(), f"#error-{field} is empty")
            expect(api.get(field, "") in error.text, f"#error-{field} says {error.text.strip()!r}, the API's 422 says {api.get(field)!r}")
            described = (self.field(d, field).get_attribute("aria-describedby") or "").split()
            expect(f"error-{field}" in described, f"{field}'s aria-describedby is {described}, without error-{field}")
        kept = {"summary": summary, "region": "Minsk", "defender.organisation": "Free Trade Union of Belarus",
                "handling.note": "Do not call the family."}
        lost = [f for f, text in kept.items() if self.value(d, f).strip() != text]
        expect(not lost, f"the refused page lost what was typed in {lost}")
        for field, text in (("tags", TAGS), ("links", LINKS)):  # a browser sends a textarea's newlines as CRLF
            shown = self.value(d, field)
            expect(shown.replace("\r\n", "\n").strip() == text, f"the {field} textarea kept {ascii(shown)}, not {ascii(text)}")

    def fixed_filing(self, d, summary, name, shot):
        """Fills every field right (on the refused page, or a fresh form) and files: the alert's id."""
        if not self.present(d, By.CSS_SELECTOR, "button#file"):
            self.open(d, "/console/alerts/new", f"{shot}-form")
        self.fill_filing(d, summary, name, self.occurred)
        self.submit(d, "button#file", f"{shot}-filed")
        match = re.fullmatch(r"/console/alerts/([^/]+)", self.path(d))
        expect(match and match.group(1) != "new", f"the fixed filing landed on {self.path(d)}, expected /console/alerts/{{id}}")
        shown = self.find(d, By.ID, "alert-id", "#alert-id").text.strip()
        expect(shown == match.group(1), f"#alert-id says {shown!r} on /console/alerts/{match.group(1)}")
        return shown

    def file_refused(self):
        self.become("partner")
        self.refused_filing(self.driver, SUMMARY, PARTNER_NAME, "filing")

    def file_fixed(self):
        self.become("partner")
        self.alert_id = self.fixed_filing(self.driver, SUMMARY, PARTNER_NAME, "filing")
        return f"alert {self.alert_id}"

    def double_submit(self):
        """Back, then the form again: as a person would, through Chrome's resend of the refused page."""
        d = self.driver
        old = d.find_element(By.TAG_NAME, "html")
        d.back()
        self.wait_for_new_page(d, old)
        self.look(d, "filing-back")
        if not self.present(d, By.CSS_SELECTOR, "button#file"):
            # Back lands on the refused POST's answer, not cached (no-store): Chrome shows
            # "Confirm Form Resubmission", and reloading sends that form again.
            old = d.find_element(By.TAG_NAME, "html")
            d.refresh()
            self.wait_for_new_page(d, old)
            self.look(d, "filing-resent")
        expect(self.present(d, By.CSS_SELECTOR, "button#file"), f"back and reload did not give the filing form again (at {self.path(d)})")
        again = self.fixed_filing(d, SUMMARY, PARTNER_NAME, "filing-again")  # the refused page again, fixed as before
        expect(again == self.alert_id, f"the second submit landed on alert {again}, the first on {self.alert_id}")
        found = []
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = self.alerts_with(SUMMARY)
            if found:
                break
            time.sleep(0.3)
        time.sleep(1)
        found = self.alerts_with(SUMMARY)
        expect(len(found) == 1, f"GET /v1/alerts?country=BY lists {len(found)} alerts with the summary, expected 1: {[a.get('id') for a in found]}")
        expect(found[0].get("id") == self.alert_id, f"the API's alert is {found[0].get('id')}, the console showed {self.alert_id}")

    def reload_until(self, d, path, name, condition, what):
        deadline = time.monotonic() + WAIT
        while True:
            self.open(d, path, name)
            if condition():
                return
            if time.monotonic() > deadline:
                raise StepFailure(f"{what} not on {path} within {WAIT} s")
            time.sleep(0.5)

    def desk_feed(self):
        d = self.driver
        self.become("desk")
        row = f'table#alerts tr[data-alert-id="{self.alert_id}"]'
        self.reload_until(d, "/console/alerts", "desk-feed", lambda: self.present(d, By.CSS_SELECTOR, row), f"row {row}")
        expect(PARTNER_NAME not in d.page_source, "the desk's feed (clearance restricted) shows the confidential alert's defender name")
        self.open(d, f"/console/alerts/{self.alert_id}", "desk-alert")
        expect(PARTNER_NAME not in d.page_source, "the alert page shows a restricted desk the confidential defender name")
        expect(self.find(d, By.ID, "alert-id").text.strip() == self.alert_id, "the desk's alert page has another #alert-id")

    def desk_ack(self):
        self.become("desk")
        d = self.driver
        self.open(d, f"/console/alerts/{self.alert_id}", "desk-ack-form")
        form = self.find(d, By.CSS_SELECTOR, "form#ack-form", "form#ack-form")
        self.choose(d, "subscriber_id", self.args.subscriber_id, scope=form)
        self.choose(d, "action", "acting", scope=form)
        self.type_in(d, "note", "Lawyer contacted; consul informed.", scope=form)
        self.submit_in(d, form, "desk-acked")
        self.find(d, By.ID, "notice", "#notice after acknowledging")
        self.board_row(d, "desk-board")

    def board_row(self, d, shot):
        """The desk's row on the alert's board (reloading a while: on Kafka the board is read from vigil.acks)."""
        selector = f'table#board tr[data-subscriber-id="{self.args.subscriber_id}"]'
        if not self.present(d, By.CSS_SELECTOR, selector):
            self.reload_until(d, f"/console/alerts/{self.alert_id}", shot, lambda: self.present(d, By.CSS_SELECTOR, selector), selector)
        row = d.find_element(By.CSS_SELECTOR, selector)
        expect(row.get_attribute("data-action") == "acting", f"the board row's data-action is {row.get_attribute('data-action')!r}")

    def partner_board(self):
        self.become("partner")
        d = self.driver
        self.open(d, f"/console/alerts/{self.alert_id}", "partner-alert")
        self.board_row(d, "partner-board")

    def partner_case(self):
        d = self.driver
        path = f"/console/cases/{self.alert_id}"
        self.open(d, path, "case")
        self.find(d, By.ID, "case-status", "#case-status")
        form = self.find(d, By.CSS_SELECTOR, "form#case-form", "form#case-form")
        self.choose(d, "kind", "update", scope=form)
        self.choose(d, "case_status", "charged", scope=form)
        self.type_in(d, "summary", "Charged with 'organising actions that grossly violate public order'.", scope=form)
        self.submit_in(d, form, "case-updated")
        self.find(d, By.ID, "notice", "#notice after the case update")
        rows = "#case-alerts tr[data-alert-id]"
        self.reload_until(d, path, "case-two", lambda: len(d.find_elements(By.CSS_SELECTOR, rows)) == 2, "two rows #case-alerts tr[data-alert-id]")

    def replay(self):
        self.become("operator")
        d = self.driver
        self.open(d, "/console/replays/new", "replay-new")
        self.type_in(d, "from_offset", "1")
        self.type_in(d, "countries", "BY")
        button = self.find(d, By.CSS_SELECTOR, "button#preview", "button#preview")
        expect(button.get_attribute("name") == "step" and button.get_attribute("value") == "preview",
               f"button#preview is name={button.get_attribute('name')!r} value={button.get_attribute('value')!r}")
        self.submit(d, "button#preview", "replay-preview", element=button)
        rows = d.find_elements(By.CSS_SELECTOR, "table#preview tr[data-alert-id]")
        expect(rows, "table#preview has no tr[data-alert-id]")
        self.submit(d, "button#confirm", "replay-confirmed")
        expect(re.fullmatch(r"/console/replays/[^/]+", self.path(d)) and self.path(d) != "/console/replays/new",
               f"confirming went to {self.path(d)}")
        state = self.find(d, By.ID, "replay-state", "#replay-state").text.strip()
        return f"preview of {len(rows)} alerts, state {state!r}"

    def dead_letters(self):
        self.become("operator")
        d = self.driver
        self.open(d, "/console/deliveries", "deliveries")
        self.find(d, By.CSS_SELECTOR, "table#dead-letters", "table#dead-letters (the contract has it even with no rows)")

    def audit(self):
        self.become("operator")
        d = self.driver
        # The filing's line: the alert's id, the action alert.filed (as text or data-action), the partner as actor.
        filed = lambda r: "alert.filed" in r.text or r.get_attribute("data-action") == "alert.filed"
        rows = lambda: [r for r in d.find_elements(By.CSS_SELECTOR, "table#audit tr") if self.alert_id in r.text and filed(r)]
        self.reload_until(d, "/console/audit", "audit", lambda: rows(), f"table#audit with the alert.filed row of alert {self.alert_id}")
        texts = [r.text.replace("\n", " ") for r in rows()]
        partner = [self.emails["partner"]] + ([self.partner_account] if self.partner_account else [])
        expect(any(name in t for t in texts for name in partner), f"the alert.filed row of {self.alert_id} does not name the partner ({' or '.join(partner)}): {texts[:2]}")

    def subscribers(self):
        self.become("operator")
        d = self.driver
        self.open(d, "/console/subscribers", "subscribers")
        expect(self.args.subscriber_id in d.page_source, f"/console/subscribers does not list {self.args.subscriber_id}")

    def admin_invite(self):
        self.become("admin")
        d = self.driver
        self.open(d, "/console/users", "users")
        self.find(d, By.CSS_SELECTOR, "table#users", "table#users")
        form = self.find(d, By.CSS_SELECTOR, "form#invite-form", "form#invite-form")
        names = {e.get_attribute("name") for e in form.find_elements(By.CSS_SELECTOR, "input, select, textarea")}
        missing = [n for n in ("email", "role", "organisation", "clearance", "subscriber_ids", "csrf_token") if n not in names]
        expect(not missing, f"#invite-form lacks {missing}")
        for row in d.find_elements(By.CSS_SELECTOR, "table#users tr"):
            found = re.search(r"acct_[0-9A-Za-z]+", row.get_attribute("outerHTML")) if self.emails.get("partner", "-") in row.text else None
            if found:
                self.partner_account = found.group(0)
        self.type_in(d, "email", "new-partner@example.org", scope=form)
        self.type_in(d, "role", "partner", scope=form)
        self.type_in(d, "organisation", "minsk-union", scope=form)
        self.type_in(d, "clearance", "public", scope=form)
        self.submit_in(d, form, "users-invited")
        link = self.find(d, By.ID, "invite-link", "#invite-link").text.strip()
        expect("/console/invite/" in link and link.startswith("http"), f"#invite-link is {link!r}")

    def csrf(self):
        self.become("partner")
        d = self.driver
        self.open(d, "/console/alerts/new", "csrf-form")
        token = self.value(d, "csrf_token")
        key = self.value(d, "idempotency_key")
        expect(token, "the filing form's csrf_token is empty")
        cookies = {c["name"]: c for c in d.get_cookies()}
        session = [c for c in cookies.values() if c.get("path") == "/console"]
        expect(session, f"no cookie with Path=/console: {[(c['name'], c.get('path')) for c in cookies.values()]}")
        for c in session:
            expect(c.get("httpOnly") and c.get("sameSite") == "Strict",
                   f"cookie {c['name']}: httpOnly={c.get('httpOnly')} sameSite={c.get('sameSite')}, expected HttpOnly and SameSite=Strict")
        body = {
            "country": "BY", "region": "Minsk", "threat": "arrest", "severity": "high", "urgency": "immediate",
            "certainty": "observed", "confidentiality": "confidential", "summary": FORGED_SUMMARY, "summary_public": "",
            "language": "en", "occurred_at": "2026-01-01T00:00:00Z", "defender.name": "Forged Defender",
            "defender.organisation": "", "defender.role": "", "defender.group": "trade_unionist", "links": "", "tags": "",
            "handling.exclude_subscribers": "", "handling.note": "", "kind": "alert", "case_id": "",
        }
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies.values())
        same = {"Cookie": cookie, "Origin": self.base, "Sec-Fetch-Site": "same-origin"}
        attempts = [
            ("without csrf_token", dict(body, idempotency_key=key + "-a"), same),
            ("with Sec-Fetch-Site: cross-site", dict(body, idempotency_key=key + "-b", csrf_token=token), dict(same, **{"Sec-Fetch-Site": "cross-site"})),
            ("with Origin https://evil.example", dict(body, idempotency_key=key + "-c", csrf_token=token), {"Cookie": cookie, "Origin": "https://evil.example"}),
        ]
        for what, form, headers in attempts:
            status, _, _ = self.raw("POST", "/console/alerts/new", form, headers)
            expect(status == 403, f"a POST {what} answered {status}, expected 403")
        # The control: the same request done right is not refused as forged (it is refused for its content).
        control = dict(body, **{"defender.name": "", "idempotency_key": key + "-d", "csrf_token": token})
        status, _, text = self.raw("POST", "/console/alerts/new", control, same)
        expect(status != 403, "a same-origin POST with the token (and an empty defender name) answered 403 too")
        time.sleep(0.5)
        expect(not self.alerts_with(FORGED_SUMMARY), "a forged POST filed an alert")

    def keyboard(self):
        d = self.driver
        self.become("partner")
        self.open(d, "/console/alerts/new", "keyboard-form")
        button = self.find(d, By.CSS_SELECTOR, "button#file", "button#file")
        form = button.find_element(By.XPATH, "./ancestor::form")
        fields = [e for e in form.find_elements(By.CSS_SELECTOR, "input, select, textarea")
                  if (e.get_attribute("type") or "").lower() not in ("hidden", "submit", "button") and e.is_displayed()]
        expect(fields, "the filing form has no visible fields")
        wanted = {(e.get_attribute("name"), e.get_attribute("value") if e.get_attribute("type") == "checkbox" else None) for e in fields}
        d.execute_script("arguments[0].focus();", fields[0])
        reached = set()
        for _ in range(len(fields) * 2 + 20):
            active = d.switch_to.active_element
            if active.get_attribute("id") == "file":
                break
            kind = active.get_attribute("type")
            reached.add((active.get_attribute("name"), active.get_attribute("value") if kind == "checkbox" else None))
            active.send_keys(Keys.TAB)
        else:
            raise StepFailure(f"TAB never reached button#file in {len(fields) * 2 + 20} presses")
        missed = sorted(f"{n}={v}" if v else n for n, v in wanted - reached)
        expect(not missed, f"TAB skipped {missed}")
        old = d.find_element(By.TAG_NAME, "html")
        d.switch_to.active_element.send_keys(Keys.ENTER)
        self.wait_for_new_page(d, old)
        self.look(d, "keyboard-submitted")
        expect(self.present(d, By.ID, "problems") or self.path(d) != "/console/alerts/new",
               "ENTER on button#file did not submit the empty form (no #problems)")

    def no_javascript(self):
        d = self.browser(javascript=False)
        d.get("data:text/html,<p id=js>off</p><script>document.getElementById('js').textContent='on'</script>")
        expect(d.find_element(By.ID, "js").text == "off", "the second browser runs scripts: JavaScript is not disabled")
        self.login(d, "partner", "nojs")
        self.refused_filing(d, NO_SCRIPT_SUMMARY, NO_SCRIPT_NAME, "nojs-filing")
        alert = self.fixed_filing(d, NO_SCRIPT_SUMMARY, NO_SCRIPT_NAME, "nojs-filing")
        return f"alert {alert}"

    def not_found(self):
        """An unknown console path is the console's own 404 page: its headers and page rules hold too."""
        self.become("partner")
        d = self.driver
        self.open(d, "/console/no-such-page", "not-found")
        traffic = next(t for driver, t in self.browsers if driver is d)
        statuses = [r.get("status") for r in traffic.requests.values() if r.get("url") == self.base + "/console/no-such-page"]
        expect(404 in statuses, f"/console/no-such-page answered {statuses}, expected 404")
        expect(self.present(d, By.CSS_SELECTOR, "main#main h1, h1"), "the not-found page has no <h1>")

    def logout(self):
        self.become("partner")
        d = self.driver
        self.open(d, "/console/alerts", "before-logout")
        cookie = self.cookie_header("partner")
        self.submit(d, "button#logout", "logged-out")
        expect(self.path(d) == "/console/login", f"logout went to {self.path(d)}")
        status, headers, text = self.raw("GET", "/console/alerts", headers={"Cookie": cookie})
        where = headers.get("Location", "") if headers else ""
        expect(status in (401, 403) or (status in (302, 303) and "/console/login" in where),
               f"the old cookie still opens /console/alerts ({status} {where})")

    def headers(self):
        self.drain()
        problems = {}
        for _, traffic in self.browsers:
            for problem, path in traffic.header_problems.items():
                problems.setdefault(problem, path)
        seen = sum(1 for _, t in self.browsers for r in t.requests.values() if t.console(r.get("url", "")))
        expect(seen, "no console response in the performance log")
        expect(not problems, "; ".join(f"{p} (first on {u})" for p, u in list(problems.items())[:6]))
        return f"{seen} console responses checked"

    def weight(self):
        pages = [p for _, t in self.browsers for p in t.pages(self.referenced)]
        expect(pages, "no console page in the performance log")
        url, size, assets = max(pages, key=lambda p: p[1])
        heavy = [p for p in pages if p[1] > PAGE_BUDGET]
        expect(not heavy, f"over 100 KB with assets: {[(urllib.parse.urlsplit(u).path, s) for u, s, _ in heavy[:4]]}")
        names = ", ".join(sorted(urllib.parse.urlsplit(u).path for u in assets))
        return f"largest page {urllib.parse.urlsplit(url).path}: {size} bytes with its {len(assets)} assets ({names}); {len(pages)} pages"

    def structure(self):
        expect(not self.structure_problems,
               "; ".join(f"{p} on {where}" for p, where in list(self.structure_problems.items())[:8]))

    def run(self):
        args = self.args
        signal.signal(signal.SIGALRM, out_of_time)
        signal.alarm(HARD_STOP)
        try:
            self.driver = self.browser()
            have = lambda role: (f"the {role}'s login", role in self.sessions)
            self.step("language-fr", self.language)
            self.step("invite-operator", lambda: self.enrol("operator", args.operator_invite, refuse_without_code=True))
            for role in ("admin", "partner", "desk"):
                self.step(f"invite-{role}", lambda role=role: self.enrol(role, getattr(args, f"{role}_invite")))
            self.step("login-wrong", self.wrong_logins, needs=[("the partner's invitation", "partner" in self.emails)])
            for role in ("partner", "desk", "operator", "admin"):
                self.step(f"login-{role}", lambda role=role: self.login(self.driver, role, role),
                          needs=[(f"the {role}'s invitation", role in self.emails)])
            filed = lambda: ("the filed alert", self.alert_id is not None)
            self.step("file-refused", self.file_refused, needs=[have("partner")])
            self.step("file-fixed", self.file_fixed, needs=[have("partner")])
            self.step("double-submit", self.double_submit, needs=[filed()])
            self.step("csrf", self.csrf, needs=[have("partner")])
            self.step("keyboard", self.keyboard, needs=[have("partner")])
            self.step("desk-feed", self.desk_feed, needs=[have("desk"), filed()])
            self.step("desk-ack", self.desk_ack, needs=[have("desk"), filed()])
            self.step("partner-board", self.partner_board, needs=[have("partner"), filed()])
            self.step("partner-case", self.partner_case, needs=[have("partner"), filed()])
            self.step("admin-invite", self.admin_invite, needs=[have("admin")])
            self.step("replay", self.replay, needs=[have("operator"), filed()])
            self.step("dead-letters", self.dead_letters, needs=[have("operator")])
            self.step("audit", self.audit, needs=[have("operator"), filed()])
            self.step("subscribers", self.subscribers, needs=[have("operator")])
            self.step("no-javascript", self.no_javascript, needs=[("the partner's invitation", "partner" in self.emails)])
            self.step("not-found", self.not_found, needs=[have("partner")])
            self.step("logout", self.logout, needs=[have("partner")])
            self.step("headers", self.headers)
            self.step("page-weight", self.weight)
            self.step("page-structure", self.structure)
        except OutOfTime as stop:
            self.failed += 1
            print(f"FAIL run: {stop}", flush=True)
        except Exception as error:  # the browser did not start, or died: the run fails, with why
            self.failed += 1
            print(f"FAIL browser: {type(error).__name__}: {str(error).strip()[:300]}", flush=True)
        finally:
            signal.alarm(0)
            for driver, _ in self.browsers:
                try:
                    driver.quit()
                except Exception:
                    pass
            for profile in self.profiles:
                shutil.rmtree(profile, ignore_errors=True)
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 and self.passed > 0 else 1


def main():
    parser = argparse.ArgumentParser(description="Vigil's console in headless Chromium (see the module docstring).")
    parser.add_argument("--url", required=True, help="the service, e.g. http://127.0.0.1:8080")
    for role in ("admin", "partner", "desk", "operator"):
        parser.add_argument(f"--{role}-invite", required=True, help=f"the {role}'s invitation link")
        parser.add_argument(f"--{role}-email", help=f"the {role}'s email (else the otpauth label's account name)")
    parser.add_argument("--screenshots", required=True, help="directory for NN-name.png")
    parser.add_argument("--api-token", required=True, help="the bootstrap token, for checks through the API")
    parser.add_argument("--subscriber-id", required=True, help="the desk's subscriber")
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    sys.exit(ConsoleRun(args).run())


if __name__ == "__main__":
    main()
