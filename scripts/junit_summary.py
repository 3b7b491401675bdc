#!/usr/bin/python3
"""Sums JUnit XML reports (Catch2 and pytest write them) into one closing line:
'N passed, N failed, N skipped'. A report that is missing or unreadable counts as one
failure, so a suite that crashed before writing its report cannot pass silently."""
import sys
import xml.etree.ElementTree as ET


def main(paths):
    passed = failed = skipped = 0
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            print(f"summary: {path}: no usable report ({e}); counted as 1 failure")
            failed += 1
            continue
        for case in root.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                print(f"FAILED: {case.get('classname', '')}::{case.get('name', '')}")
            elif case.find("skipped") is not None:
                skipped += 1
                msg = case.find("skipped").get("message", "")
                print(f"SKIPPED: {case.get('classname', '')}::{case.get('name', '')}: {msg}")
            else:
                passed += 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
