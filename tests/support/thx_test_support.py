"""What the Python tests that start the real exporter share: stopping it and judging how it ended,
reading the text exposition the way Prometheus does, and skipping where ctest can see it."""
import subprocess
import sys

# Markers of a sanitizer report (AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer,
# ThreadSanitizer). The asan stage runs the whole suite on sanitized binaries; a report in the
# output of any exporter a test started fails that test, whatever its exit status.
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")

# ctest's SKIP_RETURN_CODE for the script tests (tests/CMakeLists.txt).
SKIP_EXIT_CODE = 77


def sanitizer_report(output):
    """The first line of a sanitizer report in `output`, or None."""
    for line in output.split("\n"):
        if any(marker in line for marker in SANITIZER_REPORTS):
            return line
    return None


def check_output(output, what):
    """Raises AssertionError when `output` (a program's stdout and stderr) holds a sanitizer
    report."""
    report = sanitizer_report(output)
    if report is not None:
        raise AssertionError(f"{what}: sanitizer report: {report}\n{output[-6000:]}")


def stop(process, read_output, what, windows=False, timeout=15):
    """Stops an exporter as a service manager does (SIGTERM; under Wine the launcher passes it
    on) and fails when it did not end cleanly: on Linux, where SIGTERM is a clean stop, any exit
    status but 0; on both, a sanitizer report in its output (`read_output()` returns it). A
    process that does not stop within `timeout` seconds is killed and fails too."""
    hung = False
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            hung = True
            process.kill()
            process.wait()
    output = read_output()
    check_output(output, what)
    if hung:
        raise AssertionError(f"{what}: did not stop within {timeout} s of SIGTERM\n"
                             f"{output[-4000:]}")
    if not windows and process.returncode != 0:
        raise AssertionError(f"{what}: exited with status {process.returncode} when stopped\n"
                             f"{output[-4000:]}")


def exposition_lines(text):
    """The lines of a text exposition as Prometheus reads them: split at "\\n" only. Python's
    str.splitlines() also splits at \\x0b, \\x0c, \\x1c-\\x1e, \\x85, U+2028 and U+2029, which
    may appear in label values (a process or module name) of a valid exposition."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def skip(reason):
    """Ends a test program that cannot run here, in a way ctest reports as skipped."""
    print(f"SKIPPED: {reason}", flush=True)
    sys.exit(SKIP_EXIT_CODE)
