namespace Magma.Inference.Tests.Engine;

/// <summary>One loaded tiny model shared by the engine tests (session creation is the slow part).</summary>
public sealed class TinyMagmaFixture : IDisposable
{
    public TinyMagmaFixture() => Model = TinyMagma.Load();

    internal MagmaModel Model { get; }

    public void Dispose() => Model.Dispose();
}

[CollectionDefinition(Name)]
public sealed class TinyMagmaGroup : ICollectionFixture<TinyMagmaFixture>
{
    public const string Name = "tiny-magma engine";
}
