#!/usr/bin/python3
"""validate.py - check every line of an NDJSON stream against a JSON Schema.

Usage: /usr/bin/python3 t/helpers/validate.py SCHEMA [FILE]

Reads FILE (or the standard input when FILE is absent or "-"), validates
each line with jsonschema's Draft202012Validator and format checking, and
prints "N valid" on stdout.  Each failing line is reported on stderr as
"validate: line N: PATH: error", one line per error.  Exit status: 0 when
every line is valid, 1 when any is not, 64 usage, 66 FILE missing, 78 a
schema that does not load or is not a valid 2020-12 schema.

Written for Debian 12's python3-jsonschema (4.10) with no other packages.
That version checks "date-time" only when rfc3339-validator is installed,
so this script always brings its own strict RFC 3339 checker: the result
must not depend on what else happens to be on the machine.  A line is also
invalid when it is not UTF-8, is empty, holds a duplicate object key (an
NDJSON writer that emits two "event" objects is wrong even though Python's
json would quietly keep the last), or uses NaN or Infinity, which are not
JSON (RFC 8259).
"""

import datetime
import json
import re
import sys

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

PROG = "validate"

# RFC 3339 section 5.6 date-time; "T" and "Z" may be lower case.
DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]"
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+-]([0-9]{2}):([0-9]{2}))"
)


def is_date_time(value):
    """True for an RFC 3339 date-time with a real calendar date."""
    if not isinstance(value, str):
        return True
    m = DATE_TIME.fullmatch(value)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second
        return False
    if m.group(9) is not None and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
        return False
    return True


class BadLine(Exception):
    """A line that is not one JSON value as RFC 8259 defines it."""


def no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise BadLine("duplicate key %s" % json.dumps(key))
        obj[key] = value
    return obj


def no_constants(name):
    raise BadLine("%s is not JSON" % name)


def where(error):
    """The dotted path of the failing value, as the man pages write fields."""
    return ".".join(str(p) for p in error.absolute_path)


def one_line(text, limit=300):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def main(argv):
    if len(argv) not in (2, 3) or argv[1] in ("-h", "--help"):
        print("usage: validate.py SCHEMA [FILE]", file=sys.stderr)
        return 64

    try:
        with open(argv[1], encoding="utf-8") as f:
            schema = json.load(f)
        Draft202012Validator.check_schema(schema)
    except OSError as e:
        print("%s: %s: %s" % (PROG, argv[1], e.strerror), file=sys.stderr)
        return 66
    except SchemaError as e:
        print("%s: %s: not a 2020-12 schema: %s" % (PROG, argv[1], one_line(e.message)),
              file=sys.stderr)
        return 78
    except ValueError as e:
        print("%s: %s: %s" % (PROG, argv[1], one_line(str(e))), file=sys.stderr)
        return 78

    checker = FormatChecker()
    checker.checks("date-time")(is_date_time)
    validator = Draft202012Validator(schema, format_checker=checker)

    if len(argv) == 3 and argv[2] != "-":
        try:
            stream = open(argv[2], "rb")
        except OSError as e:
            print("%s: %s: %s" % (PROG, argv[2], e.strerror), file=sys.stderr)
            return 66
    else:
        stream = sys.stdin.buffer

    valid = invalid = 0
    with stream:
        for lineno, raw in enumerate(stream, 1):
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            errors = []
            try:
                if raw == b"":
                    raise BadLine("empty line")
                text = raw.decode("utf-8")
                doc = json.loads(text, object_pairs_hook=no_duplicates,
                                 parse_constant=no_constants)
            except UnicodeDecodeError as e:
                errors.append("not UTF-8 (byte %d)" % e.start)
            except (BadLine, ValueError) as e:
                errors.append("not valid JSON: %s" % e)
            else:
                for e in sorted(validator.iter_errors(doc),
                                key=lambda e: list(map(str, e.absolute_path))):
                    path = where(e)
                    msg = one_line(e.message)
                    errors.append("%s: %s" % (path, msg) if path else msg)
            if errors:
                invalid += 1
                for msg in errors:
                    print("%s: line %d: %s" % (PROG, lineno, msg), file=sys.stderr)
            else:
                valid += 1

    print("%d valid" % valid)
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
