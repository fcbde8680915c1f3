using Magma.Inference.Imaging;
using Magma.Plugins.Robotics.Libero;

namespace Magma.Plugins.Robotics.Tests;

/// <summary>Observations rent their frame buffers from the environment and hand them back on disposal.</summary>
[Collection(PythonTests.Name)]
public sealed class FramePoolTests(PythonFixture fixture)
{
    [Fact]
    public async Task Disposing_each_observation_reuses_its_buffers_so_the_loop_stops_allocating()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        LiberoObservation obs = await env.ResetAsync(0);
        // Warm-up: the episode loop keeps two observations (and their derived frames) alive at a time.
        for (int i = 0; i < 3; i++)
        {
            _ = obs.ModelFrame;
            _ = obs.RotatedAgentView;
            _ = obs.CameraView;
            LiberoObservation next = (await env.StepAsync(LiberoActionSpace.DummyAction)).Observation;
            obs.Dispose();
            obs = next;
        }

        int allocated = env.FrameAllocations;
        for (int i = 0; i < 20; i++)
        {
            _ = obs.ModelFrame;
            _ = obs.RotatedAgentView;
            _ = obs.CameraView;
            LiberoObservation next = (await env.StepAsync(LiberoEnvironmentTests.Right)).Observation;
            obs.Dispose();
            obs = next;
        }

        Assert.Equal(allocated, env.FrameAllocations);
        obs.Dispose();
    }

    [Fact]
    public async Task Reused_buffers_carry_the_new_frame_and_a_kept_observation_is_never_overwritten()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        LiberoObservation first = await env.ResetAsync(0);
        byte[] firstPixels = first.AgentView.Span.ToArray();

        // Not disposed: later frames must go to other arrays, whatever the pool holds.
        LiberoObservation moved = (await env.StepAsync(LiberoEnvironmentTests.Right)).Observation;
        for (int i = 0; i < 5; i++)
        {
            LiberoObservation next = (await env.StepAsync(LiberoEnvironmentTests.Right)).Observation;
            moved.Dispose();
            moved = next;
        }

        Assert.Equal(firstPixels, first.AgentView.Span.ToArray());
        Assert.NotEqual(firstPixels, moved.AgentView.Span.ToArray());

        // A frame read into a recycled buffer equals the same frame read fresh (nothing stale survives).
        byte[] movedPixels = moved.AgentView.Span.ToArray();
        RgbImage model = moved.ModelFrame;
        Assert.Equal(LiberoFrame.Prepare(RgbImage.FromPixels(256, 256, movedPixels)).Span.ToArray(), model.Span.ToArray());
        first.Dispose();
        moved.Dispose();
    }

    [Fact]
    public async Task A_disposed_observation_refuses_its_frames_but_keeps_its_state()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        LiberoObservation obs = await env.ResetAsync(0);
        obs.Dispose();
        obs.Dispose();
        Assert.True(obs.IsDisposed);
        ObjectDisposedException e = Assert.Throws<ObjectDisposedException>(() => obs.AgentView);
        Assert.Contains("copy them", e.Message, StringComparison.Ordinal);
        Assert.Throws<ObjectDisposedException>(() => obs.ModelFrame);
        Assert.Throws<ObjectDisposedException>(() => obs.RotatedAgentView);
        Assert.Throws<ObjectDisposedException>(() => obs.CameraView);
        Assert.Throws<ObjectDisposedException>(() => obs.WristView);
        Assert.Equal(3, obs.EefPosition.Count);
    }
}
