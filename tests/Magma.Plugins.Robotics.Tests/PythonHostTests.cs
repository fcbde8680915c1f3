using Magma.Plugins.Robotics.Python;
using Python.Runtime;

namespace Magma.Plugins.Robotics.Tests;

[Collection(PythonTests.Name)]
public sealed class PythonHostTests(PythonFixture fixture)
{
    [Fact]
    public void Host_loads_the_system_libpython_and_finds_its_packages()
    {
        Assert.Contains("libpython3", fixture.Host.LibraryPath, StringComparison.Ordinal);
        Assert.StartsWith("3.", fixture.Host.Version, StringComparison.Ordinal);
        // numpy comes from Debian's dist-packages: found only if the program name gave CPython the right prefix.
        string numpy = fixture.Host.Invoke("import numpy", () =>
        {
            using PyObject np = Py.Import("numpy");
            return np.GetAttr("__version__").As<string>();
        });
        Assert.Matches(@"^\d+\.\d+", numpy);
    }

    [Fact]
    public void Starting_again_returns_the_same_host()
    {
        Assert.Same(fixture.Host, PythonHost.Start());
        Assert.Same(fixture.Host, PythonHost.Current);
    }

    [Fact]
    public void Environment_variables_are_set_inside_python()
    {
        string value = fixture.Host.Invoke("os.environ", () =>
        {
            using PyObject os = Py.Import("os");
            using PyObject environ = os.GetAttr("environ");
            return environ.InvokeMethod("get", new PyString("MAGMA_TEST_VARIABLE")).As<string>();
        });
        Assert.Equal("set-from-dotnet", value);
    }

    [Fact]
    public void Python_exception_becomes_a_dotnet_exception_with_type_message_and_traceback()
    {
        var ex = Assert.Throws<PythonErrorException>(() => fixture.Host.Invoke("custom code", () =>
        {
            using PyModule m = PyModule.FromString("_boom", "def boom():\n    raise ValueError('the gripper is on fire')\n");
            return m.InvokeMethod("boom");
        }));
        Assert.Equal("ValueError", ex.PythonType);
        Assert.Equal("the gripper is on fire", ex.PythonMessage);
        Assert.Contains("boom", ex.PythonTraceback, StringComparison.Ordinal);
        Assert.Contains("custom code raised ValueError: the gripper is on fire", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Python traceback", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Module_qualified_exception_types_keep_their_module()
    {
        var ex = Assert.Throws<PythonErrorException>(() => fixture.Host.Invoke("json.loads", () =>
        {
            using PyObject json = Py.Import("json");
            return json.InvokeMethod("loads", new PyString("{not json"));
        }));
        Assert.Equal("json.decoder.JSONDecodeError", ex.PythonType);
    }

    [Fact]
    public void Gil_is_released_between_calls_so_other_threads_can_call()
    {
        // If start-up kept the GIL, a call from another OS thread would dead-lock here.
        var thread = new Thread(() => fixture.Host.Invoke("1+1", () => PythonEngine.Eval("1+1").As<int>()));
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Missing_library_names_what_was_tried()
    {
        var ex = Assert.Throws<FileNotFoundException>(() =>
            PythonLibraryLocator.FindLibrary(null, _ => null, _ => false));
        Assert.Contains("/usr/lib/x86_64-linux-gnu", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MAGMA_PYTHON_LIBRARY", ex.Message, StringComparison.Ordinal);
        var configured = Assert.Throws<FileNotFoundException>(() =>
            PythonLibraryLocator.FindLibrary("/nope/libpython3.10.so", _ => null, _ => false));
        Assert.Contains("/nope/libpython3.10.so", configured.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Executable_is_derived_from_the_library_prefix()
    {
        string? exe = PythonLibraryLocator.FindExecutable(
            null, "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", _ => null, p => p == "/usr/bin/python3.11");
        Assert.Equal("/usr/bin/python3.11", exe);
        string? conda = PythonLibraryLocator.FindExecutable(
            null, "/opt/conda/envs/libero/lib/libpython3.8.so", _ => null, p => p == "/opt/conda/envs/libero/bin/python3.8");
        Assert.Equal("/opt/conda/envs/libero/bin/python3.8", conda);
    }
}
