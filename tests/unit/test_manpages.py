#!/usr/bin/env python3
"""The man pages cannot drift from the code.

    test_manpages.py BANKD SOURCE_DIR

- bank.yaml(5) names, as `.It Ic PATH`, exactly the settings
  `bankd --list-config-keys` prints (common/confkeys.c, the table the
  parser accepts keys by), and conf.c reads every one of them;
- bankctl(8) has every command of bankctl.c's command table, and no other;
- bankd(8) has every option of bankd's getopt;
- mandoc -T lint -W warning finds nothing (when mandoc is installed);
- man -l renders each page (when man is installed).
Each comparison is also run on a page changed on purpose, so that a check
that could not fail fails this test.
"""
import os
import re
import shutil
import subprocess
import sys

FAILS = []


def fail(msg):
    FAILS.append(msg)
    print("FAIL: " + msg)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def it_words(page, macro):
    """The first word after `.It MACRO` (and after `.It Xo` / `.MACRO`)."""
    words = []
    lines = page.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\.It %s (\S+)" % macro, line)
        if m:
            words.append(m.group(1))
        elif line == ".It Xo" and i + 1 < len(lines):
            m = re.match(r"\.%s (\S+)" % macro, lines[i + 1])
            if m:
                words.append(m.group(1))
    return words


def compare(what, code, page, page_name):
    """Errors (a list) when the page's set is not the code's."""
    errs = []
    dups = sorted({w for w in page if page.count(w) > 1})
    if dups:
        errs.append("%s lists %s more than once: %s" %
                    (page_name, what, ", ".join(dups)))
    for w in sorted(set(code) - set(page)):
        errs.append("%s: %s '%s' is in the code but not in the page" %
                    (page_name, what, w))
    for w in sorted(set(page) - set(code)):
        errs.append("%s: %s '%s' is in the page but the code does not "
                    "know it" % (page_name, what, w))
    return errs


def conf_c_reads(src):
    """The key names conf.c reads from a map: get_*(c, map, "key", ...),
    ytree_get(map, "key") and the limits table's { "key", lo, hi, ...}."""
    keys = set(re.findall(r'\bget_(?:str|int|bool|map)\(\s*c,\s*\w+,\s*'
                          r'"([^"]+)"', src))
    keys |= set(re.findall(r'\bytree_get\(\s*\w+,\s*"([^"]+)"', src))
    keys |= set(re.findall(r'\{\s*"(\w+)",\s*\d+,\s*\d+,', src))
    return keys


def check_conf_keys(bankd, top):
    out = subprocess.run([bankd, "--list-config-keys"], check=True,
                         capture_output=True, text=True).stdout
    code = out.split()
    if len(code) < 50 or len(set(code)) != len(code):
        fail("bankd --list-config-keys printed %d keys (%d distinct)" %
             (len(code), len(set(code))))
    # Every path's parent map is itself a setting.
    for k in code:
        if "." in k and k.rsplit(".", 1)[0] not in code:
            fail("conf_keys: '%s' has no parent '%s'" %
                 (k, k.rsplit(".", 1)[0]))
    page = read(os.path.join(top, "man", "bank.yaml.5"))
    words = it_words(page, "Ic")
    for e in compare("setting", code, words, "bank.yaml(5)"):
        fail(e)
    # The table is the parser's: conf.c reads each leaf, and no other.
    leaves = {k.rsplit(".", 1)[-1] for k in code} - {"NAME", "TYPE"}
    reads = conf_c_reads(read(os.path.join(top, "common", "conf.c")))
    for k in sorted(leaves - reads):
        fail("conf_keys lists '%s' but common/conf.c never reads it" % k)
    for k in sorted(reads - leaves):
        fail("common/conf.c reads '%s' but conf_keys does not list it" % k)
    # The check has teeth: a key dropped from, or added to, the page.
    dropped = [w for w in words if w != "api.timeout_ms"]
    if not compare("setting", code, dropped, "x"):
        fail("a page without api.timeout_ms passed the settings check")
    if not compare("setting", code, words + ["api.bogus"], "x"):
        fail("a page with api.bogus passed the settings check")
    print("bank.yaml(5): %d settings, as the parser's" % len(code))


def check_bankctl(top):
    src = read(os.path.join(top, "bankctl", "bankctl.c"))
    m = re.search(r"ctl_cmd cmds\[\] = \{(.*?)\n\};", src, re.S)
    if m is None:
        fail("bankctl.c: no command table 'cmds[]' found")
        return
    code = re.findall(r'\{\s*"([\w-]+)",', m.group(1))
    if len(code) < 10:
        fail("bankctl.c: only %d commands found in cmds[]" % len(code))
    page = read(os.path.join(top, "man", "bankctl.8"))
    sect = page.split(".Sh COMMANDS", 1)[-1].split("\n.Sh ", 1)[0]
    words = it_words(sect, "Cm")
    for e in compare("command", code, words, "bankctl(8)"):
        fail(e)
    if not compare("command", code, words[1:], "x"):
        fail("a page without '%s' passed the command check" % words[0])
    usage = read(os.path.join(top, "bankctl", "ctl_usage.c"))
    for c in code:
        if not re.search(r"\b%s\b" % re.escape(c), usage):
            fail("ctl_usage.c: command '%s' is not in the usage" % c)
    print("bankctl(8): %d commands, as the table's" % len(code))


def check_bankd(top):
    src = read(os.path.join(top, "bankd", "main.c"))
    m = re.search(r'getopt_long\(argc, argv, "([^"]*)"', src)
    opts = [c for c in (m.group(1) if m else "") if c != ":"]
    longs = re.findall(r'\{\s*"([\w-]+)",\s*(?:no|required|optional)_'
                       r'argument', src)
    if not opts or not longs:
        fail("bankd/main.c: no getopt_long options found")
    page = read(os.path.join(top, "man", "bankd.8"))
    flags = set(it_words(page, "Fl"))
    for o in opts:
        if o not in flags:
            fail("bankd(8): option -%s is not described" % o)
    for o in longs:
        if "\\-" + o not in flags:
            fail("bankd(8): option --%s is not described" % o)
    print("bankd(8): options %s and --%s" % (", ".join(opts),
                                              ", --".join(longs)))


def check_render(pages):
    if shutil.which("mandoc") is None:
        print("note: mandoc is not installed: lint skipped "
              "(scripts/setup installs it)")
    else:
        for p in pages:
            r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", p],
                               capture_output=True, text=True)
            if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
                fail("mandoc -T lint %s: rc %d\n%s%s" %
                     (p, r.returncode, r.stdout, r.stderr))
    if shutil.which("man") is None:
        print("note: man is not installed: rendering skipped")
        return
    env = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80",
               LC_ALL="C.UTF-8")
    for p in pages:
        title = os.path.basename(p).rsplit(".", 1)
        want = "%s(%s)" % (title[0].upper(), title[1])
        r = subprocess.run(["man", "-l", p], capture_output=True, text=True,
                           env=env)
        if r.returncode != 0 or want not in r.stdout or \
                "SEE ALSO" not in r.stdout:
            fail("man -l %s: rc %d, %d bytes, no '%s'\n%s" %
                 (p, r.returncode, len(r.stdout), want, r.stderr))
        if "warning" in r.stderr.lower():
            fail("man -l %s warns:\n%s" % (p, r.stderr))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: test_manpages.py BANKD SOURCE_DIR")
    bankd, top = sys.argv[1], sys.argv[2]
    check_conf_keys(bankd, top)
    check_bankctl(top)
    check_bankd(top)
    check_render([os.path.join(top, "man", p)
                  for p in ("bankd.8", "bankctl.8", "bank.yaml.5")])
    if FAILS:
        print("%d failure(s)" % len(FAILS))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
