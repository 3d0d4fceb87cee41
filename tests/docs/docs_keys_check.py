#!/usr/bin/python3
"""docs/ says every key the loaders accept, and no key they do not, and README.md and docs/ link only to files the
repository has (never to the design notes outside it): the keys of `nurture schema workflow|scoring|
config` (each connector type's too) are compared with docs/workflows.md, docs/scoring.md, docs/config.md and
docs/connectors.md. A key counts as documented when it appears as a word inside `backticks` on its page; a key
that a page's key table names (first column, tables headed `| key |` or `| operator |`) must be one the schema has."""
import glob
import json
import os
import re
import subprocess
import sys

nurture, source = sys.argv[1], sys.argv[2]
failures = []


def schema(of):
    return json.loads(subprocess.run([nurture, 'schema', of], check=True, capture_output=True, text=True).stdout)


def property_names(node, skip_defs=False):
    names = set()

    def walk(item):
        if isinstance(item, dict):
            for key, value in item.items():
                if skip_defs and key == '$defs':
                    continue
                if key == 'properties' and isinstance(value, dict):
                    names.update(value.keys())
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(node)
    return names


def page(name):
    return open(f'{source}/docs/{name}', encoding='utf-8').read()


def documented(text):
    words = set()
    for span in re.findall(r'`([^`\n]+)`', text):
        words.update(re.findall(r'[A-Za-z_][A-Za-z0-9_]*', span))
    return words


def table_keys(text):
    """First-column backticked names of the tables headed `| key |` or `| operator |`."""
    keys, in_table = set(), False
    for line in text.splitlines():
        if re.match(r'^\| (key|operator) \|', line):
            in_table = True
            continue
        if not line.startswith('|'):
            in_table = False
            continue
        if in_table and not line.startswith('|---'):
            first = line.split('|')[1]
            for name in re.findall(r'`([^`]+)`', first):
                keys.add(name.split('.')[0])
    return keys


def compare(page_name, keys, also_allowed=frozenset()):
    text = page(page_name)
    missing = sorted(k for k in keys if k not in documented(text))
    for key in missing:
        failures.append(f'docs/{page_name} does not document `{key}`')
    for key in sorted(table_keys(text) - keys - also_allowed):
        failures.append(f'docs/{page_name} documents `{key}`, which the schema does not have')
    return len(keys)


workflow = schema('workflow')
scoring = schema('scoring')
config = schema('config')

checked = compare('workflows.md', property_names(workflow), {'attr'})
checked += compare('scoring.md', property_names(scoring, skip_defs=True),
                   {'eq', 'ne', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'contains', 'matches', 'exists'})
connector = config['properties']['connectors']['additionalProperties']
connector_keys = set()
for case in connector.get('allOf', []):
    connector_keys.update(case.get('then', {}).get('properties', {}).keys())
config_keys = property_names({k: v for k, v in config['properties'].items() if k != 'connectors'})
config_keys.update(config['properties'].keys())
config_keys.update({'type', 'rate', 'concurrency', 'max_attempts'})
checked += compare('config.md', config_keys)
checked += compare('connectors.md', connector_keys - {'type'})

# The pages users read point only at what the repository has.
for path in [f'{source}/README.md'] + sorted(glob.glob(f'{source}/docs/*.md')):
    text = re.sub(r'```.*?```', '', open(path, encoding='utf-8').read(), flags=re.S)  # code is not links
    for target in re.findall(r'\]\(([^)#\s]+)', text):
        if re.match(r'[a-z]+:', target):
            continue
        if not os.path.exists(os.path.join(os.path.dirname(path), target)):
            failures.append(f'{os.path.relpath(path, source)} links to {target}, which the repository does not have')
    if re.search(r'\bspec/[a-z_]+\.md|\.\./shared', text):
        failures.append(f'{os.path.relpath(path, source)} points outside the repository (spec/ or ../shared)')

for failure in failures:
    print(failure)
print(f'{checked} keys compared, {len(failures)} problem(s)')
sys.exit(1 if failures else 0)
