"""Replays the commit script's calls captured by MONITOR during a drip, twice on the same redis-server:
  script: the calls as the engine made them (EVALSHA of the commit script, its checks and writes in Lua);
  native: the same checks and writes as native commands, the way a commit without Lua would make them: WATCH the
          leads, read what the script checks (HMGET of the stream position and version; EXISTS of a producer id),
          then MULTI, the writes, EXEC (an EXEC refused because a watched key changed would fall back to the script).
Each replay goes under its own key prefix; their end states are compared (every key's content, stream entry ids
aside) before a figure is printed. Prints JSON: redis-server CPU per commit block for each, and their ratio.
  replay.py PORT MONITOR_FILE [ROUNDS]
"""
import json
import re
import socket
import sys

PORT, CAPTURE = int(sys.argv[1]), sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
ESCAPES = {'n': b'\n', 'r': b'\r', 't': b'\t', 'a': b'\a', 'b': b'\b', '"': b'"', '\\': b'\\'}


def unescape(text):  # MONITOR quotes arguments the way sdscatrepr does
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] != '\\':
            out += text[i].encode('utf-8', 'surrogateescape')
            i += 1
        elif text[i + 1] == 'x':
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            out += ESCAPES[text[i + 1]]
            i += 2
    return bytes(out)


def captured_commit_calls():
    calls = []
    for line in open(CAPTURE, encoding='utf-8', errors='surrogateescape'):
        if '"EVALSHA"' not in line or ':lead:' not in line:
            continue
        call = [unescape(a) for a in re.findall(r'"((?:[^"\\]|\\.)*)"', line.split('] ', 1)[1])]
        if int(call[2]) >= 4 and b':lead:' in call[3]:  # the commit script's first key is a lead's hash
            calls.append(call)
    return calls


def under(prefix, args):
    return [re.sub(rb'^[^:{]+:', prefix, a, count=1) if re.match(rb'^[^:{]+:\{', a) else a for a in args]


def blocks_of(call):
    """The commit script's ARGV, block by block, as the script reads it (see commit_lua)."""
    nkeys = int(call[2])
    keys, argv = call[3:3 + nkeys], call[3 + nkeys:]
    i, k = 1, 0
    for _ in range(int(argv[0])):
        nk = int(argv[i])
        sid, seen, ttl, ver, sid_field = argv[i + 1:i + 6]
        i += 7

        def group():
            nonlocal i
            n = int(argv[i])
            items = argv[i + 1:i + 1 + n]
            i += 1 + n
            return items
        sets, dels, tadd, trem = group(), group(), group(), group()
        n_entries = int(argv[i])
        i += 1
        entries = [group() for _ in range(n_entries)]
        n_stats = int(argv[i])
        stats = [(keys[k + int(argv[i + 1 + 3 * s]) - 1], argv[i + 2 + 3 * s], int(argv[i + 3 + 3 * s]))
                 for s in range(n_stats)]
        i += 1 + 3 * n_stats
        yield dict(lead=keys[k], timers=keys[k + 1], outbox=keys[k + 2], seen_key=keys[k + 3], sid=sid,
                   seen=seen == b'1', ttl=ttl, ver=ver, sid_field=sid_field, sets=sets, dels=dels, tadd=tadd,
                   trem=trem, entries=entries, stats=stats)
        k += nk


def native_commands(call):
    """Round trip 1 (what the script checks) and round trip 2 (the writes), as native commands."""
    blocks = list(blocks_of(call))
    watch = [b['lead'] for b in blocks] + [b['seen_key'] for b in blocks if b['seen']]
    reads = [[b'WATCH'] + watch] + [[b'HMGET', b['lead'], b['sid_field'], b'ver'] for b in blocks]
    reads += [[b'EXISTS', b['seen_key']] for b in blocks if b['seen']]
    writes, timers, counts = [[b'MULTI']], {}, {}
    for b in blocks:
        if b['sets']:
            writes.append([b'HSET', b['lead']] + b['sets'])
        if b['dels']:
            writes.append([b'HDEL', b['lead']] + b['dels'])
        if b['seen']:
            writes.append([b'SET', b['seen_key'], b'1', b'EX', b['ttl']])
        changes = timers.setdefault(b['timers'], {})  # the last change of a member wins, as in the script
        for j in range(0, len(b['tadd']), 2):
            changes.pop(b['tadd'][j + 1], None)
            changes[b['tadd'][j + 1]] = b['tadd'][j]
        for member in b['trem']:
            changes.pop(member, None)
            changes[member] = None
        for fields in b['entries']:
            writes.append([b'XADD', b['outbox'], b'*'] + fields)
        for key, field, n in b['stats']:
            counts.setdefault(key, {})
            counts[key][field] = counts[key].get(field, 0) + n
    for key, changes in timers.items():
        added = [x for member, due in changes.items() if due is not None for x in (due, member)]
        removed = [member for member, due in changes.items() if due is None]
        if added:  # a drip's timers fall due within the near window: the script files them in the sorted set too
            writes.append([b'ZADD', key] + added)
        if removed:
            writes.append([b'ZREM', key] + removed)
    for key, fields in counts.items():
        writes += [[b'HINCRBY', key, field, str(n).encode()] for field, n in fields.items()]
    return reads, writes + [[b'EXEC']], len(blocks)


def resp(args):
    return b''.join([b'*%d\r\n' % len(args)] + [b'$%d\r\n%s\r\n' % (len(a), a) for a in args])


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port))
        self.buf = b''

    def send(self, commands):
        self.sock.sendall(b''.join(resp(c) for c in commands))

    def _line(self):
        while b'\r\n' not in self.buf:
            self.buf += self.sock.recv(1 << 20)
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b'+', b':'):
            return rest
        if kind == b'-':
            raise RuntimeError(rest.decode())
        if kind == b'$':
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(1 << 20)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        n = int(rest)
        return None if n < 0 else [self.reply() for _ in range(n)]

    def call(self, *args):
        self.send([[a if isinstance(a, bytes) else str(a).encode() for a in args]])
        return self.reply()

    def cpu_s(self):
        info = self.call('INFO', 'cpu').decode()
        return sum(float(re.search(name + r':([\d.]+)', info).group(1)) for name in ('used_cpu_user', 'used_cpu_sys'))


def replay_script(redis, calls, prefix):
    redis.send([under(prefix, c) for c in calls])
    outcomes = [o for _ in calls for o in redis.reply()]
    assert all(o == b'committed' for o in outcomes), 'a replayed block was not committed: %r' % set(outcomes)


def replay_native(redis, calls, prefix):
    for call in calls:  # two round trips a call: the checks, then the transaction
        reads, writes, n = native_commands(under(prefix, call))
        redis.send(reads)
        replies = [redis.reply() for _ in reads]
        # The version check the script makes, made here (by the engine, in such a commit): replayed in order, each
        # block finds the version it expects.
        expected = [b['ver'] for b in blocks_of(call)]
        assert [(r[1] or b'0') for r in replies[1:1 + n]] == expected, 'a block found another version'
        redis.send(writes)
        replies = [redis.reply() for _ in writes]
        assert replies[-1] is not None, 'EXEC refused: a watched key changed'


def state(redis, prefix):
    """Every key under the prefix and its content, stream entry ids left out (they are times)."""
    out, cursor = {}, b'0'
    while True:
        cursor, keys = redis.call('SCAN', cursor, 'MATCH', prefix + b'*', 'COUNT', 1000)
        for key in keys:
            kind = redis.call('TYPE', key)
            name = key[len(prefix):]
            if kind == b'hash':
                flat = redis.call('HGETALL', key)
                out[name] = dict(zip(flat[::2], flat[1::2]))
            elif kind == b'zset':
                out[name] = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
            elif kind == b'stream':
                out[name] = [entry[1] for entry in redis.call('XRANGE', key, '-', '+')]
            elif kind == b'string':
                out[name] = redis.call('GET', key)
            else:
                out[name] = kind
        if cursor == b'0':
            return out


def main():
    calls = captured_commit_calls()
    if not calls:
        sys.exit('no commit script calls in ' + CAPTURE)
    redis = Redis(PORT)
    blocks = sum(len(list(blocks_of(c))) for c in calls)
    cpu = {'script': [], 'native': []}
    for round_ in range(ROUNDS):
        for name, replay in (('script', replay_script), ('native', replay_native)):
            prefix = b'r%d%s:' % (round_, name.encode())
            before = redis.cpu_s()
            replay(redis, calls, prefix)
            cpu[name].append(1e6 * (redis.cpu_s() - before) / blocks)
        if round_ == 0 and state(redis, b'r0script:') != state(redis, b'r0native:'):
            sys.exit('the two replays left different states: the native commands are not the same writes')
        redis.call('FLUSHALL')
    median = {name: sorted(v)[len(v) // 2] for name, v in cpu.items()}
    print(json.dumps({'calls': len(calls), 'blocks': blocks, 'rounds': ROUNDS,
                      'redis_cpu_us_per_block_script': round(median['script'], 2),
                      'redis_cpu_us_per_block_native': round(median['native'], 2),
                      'runs_script': [round(x, 2) for x in cpu['script']],
                      'runs_native': [round(x, 2) for x in cpu['native']],
                      'script_over_native': round(median['script'] / median['native'], 2)}))


main()
