"""Builds the Python package with the project's CMake: the compiled module apportion._core
and the `apportion` command line, which the package carries (`python -m apportion`).

pip runs this through pyproject.toml (`pip install --no-build-isolation .`). Set
APPORTION_CMAKE_ARGS for more CMake options and APPORTION_BUILD_JOBS for the build's jobs.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
(ROOT / "build-python").mkdir(exist_ok=True)  # where setuptools builds (options below)
VERSION = re.search(r'APPORTION_VERSION_STRING "([^"]+)"', (ROOT / "include/apportion/config.hpp").read_text()).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = Path(self.build_temp).resolve() / "cmake"
        configure = ["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                     "-DAPPORTION_TESTS=OFF", "-DAPPORTION_INSTALL=OFF", "-DAPPORTION_EXAMPLES=ON",
                     "-DAPPORTION_PYTHON=ON", f"-DPython_EXECUTABLE={sys.executable}",
                     *shlex.split(os.environ.get("APPORTION_CMAKE_ARGS", ""))]
        subprocess.run(configure, check=True)
        jobs = os.environ.get("APPORTION_BUILD_JOBS", str(os.cpu_count() or 2))
        subprocess.run(["cmake", "--build", str(build), "--target", "apportion_python", "apportion_cli", "-j", jobs],
                       check=True)
        module = Path(self.get_ext_fullpath(ext.name))
        module.parent.mkdir(parents=True, exist_ok=True)
        built = next((build / "python" / "apportion").glob("_core*.so"))
        shutil.copy2(built, module)
        tools = module.parent / "_bin"
        tools.mkdir(exist_ok=True)
        shutil.copy2(build / "examples" / "apportion", tools / "apportion")


setup(
    version=VERSION,
    packages=["apportion"],
    package_dir={"apportion": "python/apportion"},
    package_data={"apportion": ["py.typed", "_core.pyi"]},
    ext_modules=[Extension("apportion._core", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # Not build/, where the README's CMake build goes.
    options={"build": {"build_base": "build-python"}, "egg_info": {"egg_base": "build-python"}},
    zip_safe=False,
)
