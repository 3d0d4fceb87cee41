#!/usr/bin/python3
"""Validates `nurture schema` with an independent validator (python3-jsonschema, draft 2020-12): every example and
golden workflow must pass, and workflows broken in the ways marketers break them must be rejected."""
import glob
import json
import os
import subprocess
import sys

import jsonschema
import yaml

nurture, source = sys.argv[1], sys.argv[2]
failures = []


def schema(of):
    text = subprocess.run([nurture, 'schema', of], check=True, capture_output=True, text=True).stdout
    parsed = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(parsed)
    return jsonschema.Draft202012Validator(parsed)


workflow = schema('workflow')
config = schema('config')
scoring = schema('scoring')

def accepted_files(validator, *patterns):
    """Every file matching the patterns must pass `validator`; returns them."""
    files = sorted(set(os.path.realpath(p) for pattern in patterns for p in glob.glob(f'{source}/{pattern}')))
    for path in files:
        errors = list(validator.iter_errors(yaml.safe_load(open(path))))
        if errors:
            failures.append(f'{path}: rejected: {errors[0].message}')
    return files


good = accepted_files(workflow, 'examples/*/workflows/*.yaml', 'tests/workflows/golden/*/campaign/workflows/*.yaml')
configs = accepted_files(config, 'examples/*/nurture.yaml', 'tests/workflows/golden/_shared/nurture.yaml')
scorings = accepted_files(scoring, 'examples/*/scoring.yaml', 'tests/workflows/golden/*/campaign/scoring.yaml')
broken_scoring = {
    'a rule without points': 'rules:\n  - { event: email.opened }\n',
    'a rule with both event and attr': 'rules:\n  - { event: email.opened, attr: plan, points: 1 }\n',
    'points as a word': 'rules:\n  - { event: email.opened, points: many }\n',
    'decay without half_life': 'decay: { every: 7d }\n',
    'a stage with an unknown condition key': 'stages:\n  mql: { scor: { gte: 50 } }\n',
}
for name, text in broken_scoring.items():
    if scoring.is_valid(yaml.safe_load(text)):
        failures.append(f'accepted a broken scoring.yaml: {name}')
if not scoring.is_valid(yaml.safe_load('rules:\n  - { attr: job_title, matches: "(?i)vp", points: 10 }\n'
                                       'decay: { half_life: 14d }\nstages:\n  mql: { score: { gte: 50 } }\n')):
    failures.append('refused a good scoring.yaml')

base = 'workflow: w\ntrigger: { event: lead.created }\n'
broken = {
    'unknown top-level key': base + 'stpes:\n  - wait: 1d\n',
    'two actions in one step': base + 'steps:\n  - { wait: 1d, email: { template: t } }\n',
    'no action in a step': base + 'steps:\n  - { id: a }\n',
    'bad duration': base + 'steps:\n  - wait: 2 days\n',
    'missing trigger': 'workflow: w\nsteps:\n  - wait: 1d\n',
    'bad workflow id': 'workflow: Welcome!\ntrigger: { event: x }\nsteps:\n  - wait: 1d\n',
    'unknown operator': base + 'steps:\n  - branch:\n      - if: { score: { greater: 5 } }\n        goto: a\n',
    'within without event': base + 'steps:\n  - branch:\n      - if: { within: 7d }\n        goto: a\n',
    'wait_for without timeout': base + 'steps:\n  - wait_for: { event: x }\n',
    'on_timeout outside wait_for': base + 'steps:\n  - { wait: 1d, on_timeout: a }\n',
    'email without template': base + 'steps:\n  - email: { connector: c }\n',
    'negative split weight': base + 'steps:\n  - split:\n      - { weight: -1, goto: a }\n',
    'bad reentry': base + 'reentry: sometimes\nsteps:\n  - wait: 1d\n',
}
for name, text in broken.items():
    if workflow.is_valid(yaml.safe_load(text)):
        failures.append(f'accepted a broken workflow: {name}')
if config.is_valid(yaml.safe_load('redis: auto\nsendr: { from: x }\n')):
    failures.append('accepted a config with an unknown key')

# Connector keys come from each type's declaration (nurture schema config documents them).
connector_cases = {
    'smtp with its keys': ('connectors: { m: { type: smtp, url: "smtp://h:25", pool: 4, rate: 50/s, dkim_key: k.pem } }', True),
    'sendgrid with its keys': ('connectors: { s: { type: sendgrid, api_key_env: SG, webhook_public_key_env: SGW } }', True),
    'a plugin with its own keys': ('connectors: { p: { type: plugin, path: ./libx.so, topic: sales } }', True),
    'smtp with a key it does not have': ('connectors: { m: { type: smtp, url: "smtp://h:25", colour: red } }', False),
    'sendgrid without its key': ('connectors: { s: { type: sendgrid } }', False),
    'an unknown type': ('connectors: { s: { type: carrier_pigeon } }', False),
    'a plugin without a path': ('connectors: { p: { type: plugin, topic: sales } }', False),
    'an integer key given a word': ('connectors: { m: { type: smtp, url: "smtp://h:25", pool: four } }', False),
    'a text key given a list': ('connectors: { m: { type: smtp, url: "smtp://h:25", tls: [a, b] } }', False),
    'a URL without a scheme': ('connectors: { m: { type: smtp, url: "mail.example:25" } }', False),
    'a secret given as a value, not a variable': ('connectors: { s: { type: sendgrid, api_key_env: "SG.abc def" } }', False),
    'a numeric id unquoted': ('connectors: { l: { type: linkedin, token_env: LI, author: "urn:li:person:1", version: 202405 } }', True),
}
attribute_cases = {
    'declared attributes': ('attributes: { seats: number, trial_ends: date, timezone: timezone }', True),
    'an unknown attribute type': ('attributes: { seats: integer }', False),
}
for name, (text, valid) in attribute_cases.items():
    if config.is_valid(yaml.safe_load(text)) != valid:
        failures.append(f'attributes schema: {name}: expected {"valid" if valid else "invalid"}')
for name, (text, valid) in connector_cases.items():
    if config.is_valid(yaml.safe_load(text)) != valid:
        failures.append(f'connector schema: {name}: expected {"valid" if valid else "invalid"}')

checked = len(good) + len(configs) + len(scorings) + len(broken_scoring) + 1 + len(broken) + 1 + len(connector_cases) + len(attribute_cases)
for failure in failures:
    print(failure)
print(f'{checked - len(failures)} passed, {len(failures)} failed')
sys.exit(1 if failures else 0)
