"""jupyter_kernel_test suite for the tsparallel kernel.

Every sample attribute of jupyter_kernel_test.KernelTests is filled, so none of its tests skip.
Run through test/kernel_test/jupyter-kernel-test.test.ts, which installs the kernelspec into a
temporary prefix and points JUPYTER_PATH at it; or by hand after `tsparallel install`:

    .venv/bin/python -m unittest -v test_tsparallel_kernel   (from this folder)
"""

import unittest

import jupyter_kernel_test

# A 1x1 transparent PNG.
PNG_BYTES = (
    "[137,80,78,71,13,10,26,10,0,0,0,13,73,72,68,82,0,0,0,1,0,0,0,1,8,6,0,0,0,31,21,196,137,"
    "0,0,0,13,73,68,65,84,120,156,99,0,1,0,0,5,0,1,13,10,45,180,0,0,0,0,73,69,78,68,174,66,96,130]"
)


class TsparallelKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "tsparallel"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("something went wrong")'

    completion_samples = [
        {"text": "Math.PI.toFix", "matches": {"toFixed"}},
        {"text": "console.lo", "matches": {"log"}},
    ]

    complete_code_samples = ["1", "console.log('x')", "function f(a: number) { return a * 2; }"]
    incomplete_code_samples = ["function f() {", "const xs = [1, 2,"]
    invalid_code_samples = ["const = ;", "1 +* )"]

    code_page_something = "Math.max?"

    code_generate_error = 'throw new Error("boom")'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'type' + 'script'", "result": "'typescript'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
    ]

    code_display_data = [
        {"code": 'display.html("<b>bold</b>")', "mime": "text/html"},
        {"code": f"display.png(new Uint8Array({PNG_BYTES}))", "mime": "image/png"},
        {"code": 'display.markdown("# Title")', "mime": "text/markdown"},
        {"code": 'display({ "text/plain": "x", "text/latex": "$x$" }, { raw: true })', "mime": "text/latex"},
    ]

    # Matches "6 * 7" from code_execute_result (glob syntax: * and ?).
    code_history_pattern = "6 ? 7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "Math.max"

    code_clear_output = "clearOutput()"


if __name__ == "__main__":
    unittest.main()
