using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Persist.Data;
using Kernel.Persist.Encoding;
using Kernel.Persist.Native;
using Kernel.Persist.Shard;
using Kernel.Runtime;
using Xunit;

namespace Kernel.Tests.Unit.Persist;

/// <summary>Columnar parts, state envelopes and the native libraries under them: round trips, and corruption is an error naming the key.</summary>
public sealed class EncodingTests
{
    [Fact]
    public void XxHash64_MatchesTheReferenceValues()
    {
        // Published xxHash64 test vectors (seed 0).
        Assert.Equal(0xEF46DB3751D8E999UL, XxHash64Checksum.Shared.Hash([]));
        Assert.Equal(0x44BC2CF5AD770999UL, XxHash64Checksum.Shared.Hash("abc"u8));
    }

    [Fact]
    public void PartCodec_RentedEncoding_EqualsTheArrayAndDecodes_AndIsUnusableOnceReturned()
    {
        // Large enough that the rented buffer is far bigger than the part, and with rows of several kinds.
        var updates = new List<Update>();
        for (int i = 0; i < 2_000; i++)
        {
            updates.Add(new Update(new Row(Datum.FromInt64(i), Datum.FromString("row " + i), Datum.FromBytes([(byte)i, 1, 2, 3])), (ulong)(i % 5), 1 + (i % 3)));
        }
        byte[] array = PartCodec.Default.Encode(updates);

        EncodedPart rented = PartCodec.Default.EncodeRented(updates);

        Assert.Equal(array.Length, rented.Length);
        Assert.Equal(array, rented.Memory.ToArray());
        Assert.Equal(updates, PartCodec.Default.Decode("part", rented.Memory.Span, out string error));
        Assert.Equal("", error);
        rented.Dispose();
        rented.Dispose();
        Assert.Throws<ObjectDisposedException>(() => rented.Memory);
    }

    [Fact]
    public void Zstd_RoundTripsAndRejectsGarbageAndWrongLengths()
    {
        byte[] input = new byte[100_000];
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = (byte)(i % 7);
        }

        byte[] compressed = ZstdCompressor.Shared.Compress(input);

        Assert.True(compressed.Length < input.Length / 10);
        Assert.True(ZstdCompressor.Shared.TryDecompress(compressed, input.Length, out byte[] output, out _));
        Assert.Equal(input, output);
        Assert.False(ZstdCompressor.Shared.TryDecompress(compressed, input.Length - 1, out _, out string tooSmall));
        Assert.NotEmpty(tooSmall);
        Assert.False(ZstdCompressor.Shared.TryDecompress("not a zstd frame"u8, 10, out _, out string garbage));
        Assert.Contains("zstd", garbage, StringComparison.Ordinal);
        Assert.False(ZstdCompressor.Shared.TryDecompress(compressed.AsSpan(0, compressed.Length / 2), input.Length, out _, out _));
    }

    /// <summary>Property: random updates over every datum kind (and ragged rows) survive encode/decode exactly.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void PartCodec_RandomUpdates_RoundTripExactly(ulong seed)
    {
        var random = new SeededRandom(seed);
        for (int round = 0; round < 20; round++)
        {
            List<Update> updates = RandomUpdates(random, random.Next(200));

            byte[] encoded = PartCodec.Default.Encode(updates);
            List<Update>? decoded = PartCodec.Default.Decode("k", encoded, out string error);

            Assert.True(decoded is not null, error);
            Assert.Equal(updates.Count, decoded.Count);
            for (int i = 0; i < updates.Count; i++)
            {
                Assert.Equal(updates[i].Row, decoded[i].Row);
                Assert.Equal(updates[i].Time, decoded[i].Time);
                Assert.Equal(updates[i].Diff, decoded[i].Diff);
            }
        }
    }

    [Fact]
    public void PartCodec_EveryTruncation_IsAnErrorNamingTheKey()
    {
        byte[] encoded = PartCodec.Default.Encode(RandomUpdates(new SeededRandom(7), 50));

        for (int length = 0; length < encoded.Length; length++)
        {
            List<Update>? decoded = PartCodec.Default.Decode("s1/p/w/part-7", encoded.AsSpan(0, length), out string error);

            Assert.Null(decoded);
            Assert.Contains("s1/p/w/part-7", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void PartCodec_EveryFlippedByte_IsAnErrorNamingTheKey()
    {
        byte[] encoded = PartCodec.Default.Encode(RandomUpdates(new SeededRandom(8), 30));

        for (int i = 0; i < encoded.Length; i++)
        {
            byte[] corrupt = (byte[])encoded.Clone();
            corrupt[i] ^= 0x20;

            List<Update>? decoded = PartCodec.Default.Decode("part-key", corrupt, out string error);

            Assert.Null(decoded);
            Assert.Contains("part-key", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void PartCodec_WrongChecksumWithValidPayload_IsRejected()
    {
        byte[] encoded = PartCodec.Default.Encode(RandomUpdates(new SeededRandom(9), 5));
        encoded[^1] ^= 1;

        Assert.Null(PartCodec.Default.Decode("k9", encoded, out string error));
        Assert.Contains("checksum", error, StringComparison.Ordinal);
    }

    [Fact]
    public void StateCodec_RoundTripsEveryField()
    {
        ShardState state = SampleState(batches: 3);

        ShardState? decoded = StateCodec.Default.Decode("state", StateCodec.Default.Encode(state), out string error);

        Assert.True(decoded is not null, error);
        Assert.Equal(state.Shard, decoded.Shard);
        Assert.Equal(state.SeqNo, decoded.SeqNo);
        Assert.Equal(state.Since, decoded.Since);
        Assert.Equal(state.Upper, decoded.Upper);
        Assert.Equal(state.Batches.Length, decoded.Batches.Length);
        for (int i = 0; i < state.Batches.Length; i++)
        {
            Assert.True(state.Batches[i].SameAs(decoded.Batches[i]));
        }
        Assert.Equal(state.LeasedReaders, decoded.LeasedReaders);
        Assert.Equal(state.CriticalReaders, decoded.CriticalReaders);
        Assert.Equal(state.Writers, decoded.Writers);
        Assert.Equal(state.Rollups, decoded.Rollups);
        Assert.Equal(state.LastGcSeqNo, decoded.LastGcSeqNo);
    }

    [Fact]
    public void StateCodec_InlinePart_RoundTripsItsBytesAndIsNoBlobReference()
    {
        ShardState state = SampleState(batches: 2);

        ShardState decoded = StateCodec.Default.Decode("state", StateCodec.Default.Encode(state), out string error)!;

        Assert.Empty(error);
        PartRef inline = decoded.Batches[1].Parts[1];
        Assert.True(inline.IsInline);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 1 }, inline.Inline);
        Assert.False(decoded.Batches[1].Parts[0].IsInline);
        Assert.Equal(14, decoded.InlineBytes());
        Assert.DoesNotContain("s/p/w/1b", decoded.ReferencedBlobKeys());
        Assert.Contains("s/p/w/1", decoded.ReferencedBlobKeys());
    }

    [Fact]
    public void StateCodec_LargeStateIsCompressedAndRoundTrips()
    {
        ShardState state = SampleState(batches: 400);
        byte[] encoded = StateCodec.Default.Encode(state);

        Assert.Equal(1, encoded[5]); // compression flag: zstd
        Assert.Equal(400, StateCodec.Default.Decode("big", encoded, out string error)!.Batches.Length);
        Assert.Empty(error);
    }

    [Fact]
    public void StateCodec_TruncatedOrFlipped_IsAnErrorNamingWhat()
    {
        byte[] encoded = StateCodec.Default.Encode(SampleState(batches: 2));
        const string What = "consensus state of shard s at seqno 9";

        for (int length = 0; length < encoded.Length; length += 3)
        {
            Assert.Null(StateCodec.Default.Decode(What, encoded.AsSpan(0, length), out string error));
            Assert.StartsWith(What, error, StringComparison.Ordinal);
        }
        for (int i = 0; i < encoded.Length; i++)
        {
            byte[] corrupt = (byte[])encoded.Clone();
            corrupt[i] ^= 0x01;
            Assert.Null(StateCodec.Default.Decode(What, corrupt, out string error));
            Assert.StartsWith(What, error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void StateCodec_IncrementalVersion_CarriesOnlyChangedBatchesAndAppliesToItsPredecessor()
    {
        ShardState predecessor = SampleState(batches: 40);
        // What compaction does (a merge of batches 10..19 into one), then what an append does (one more batch).
        HollowBatch merged = new(
            new BatchDescription(Frontier.At(100), Frontier.At(200), Frontier.At(0)),
            [new PartRef("s/p/m/1", 500, 60)]);
        HollowBatch appended = new(
            new BatchDescription(Frontier.At(400), Frontier.At(410), Frontier.At(0)),
            [new PartRef("s/p/w/new", 9, 2) { Inline = [9, 9, 9, 9, 9, 9, 9, 9, 9] }]);
        ShardState afterMerge = predecessor with
        {
            SeqNo = predecessor.SeqNo + 1,
            Batches = predecessor.Batches.RemoveRange(10, 10).Insert(10, merged),
        };
        ShardState afterAppend = afterMerge with
        {
            SeqNo = afterMerge.SeqNo + 1,
            Upper = Frontier.At(410),
            Batches = afterMerge.Batches.Add(appended),
            Writers = afterMerge.Writers.SetItem("w1", new WriterState(new IdempotencyToken(3, 4), Frontier.At(410), 7, 6, "writer")),
        };

        byte[] mergeVersion = StateCodec.Default.EncodeIncremental(afterMerge, predecessor, chainBase: 5);
        byte[] appendVersion = StateCodec.Default.EncodeIncremental(afterAppend, afterMerge, chainBase: 5);
        ShardState? merge = StateCodec.Default.DecodeVersion("v10", mergeVersion, predecessor, out ulong chainBase, out bool needsPredecessor, out string error);
        Assert.True(merge is not null, error);
        ShardState? append = StateCodec.Default.DecodeVersion("v11", appendVersion, merge, out ulong appendChainBase, out _, out error);
        Assert.True(append is not null, error);

        Assert.False(needsPredecessor);
        Assert.Equal(5UL, chainBase);
        Assert.Equal(5UL, appendChainBase);
        // Each carries one batch and the small fields: a few hundred bytes whatever the shard holds.
        Assert.True(mergeVersion.Length < 400, $"merge version {mergeVersion.Length} bytes");
        Assert.True(appendVersion.Length < 400, $"append version {appendVersion.Length} bytes");
        foreach ((ShardState expected, ShardState actual) in new[] { (afterMerge, merge), (afterAppend, append) })
        {
            Assert.Equal(expected.Batches.Length, actual.Batches.Length);
            for (int i = 0; i < expected.Batches.Length; i++)
            {
                Assert.True(expected.Batches[i].SameAs(actual.Batches[i]), $"batch {i}");
            }
            Assert.Equal(expected.Writers, actual.Writers);
            Assert.Equal(expected.Upper, actual.Upper);
            Assert.Equal(expected.SeqNo, actual.SeqNo);
        }
        Assert.Equal(new byte[] { 9, 9, 9, 9, 9, 9, 9, 9, 9 }, append.Batches[^1].Parts[0].Inline);

        // A complete version says it starts its own chain.
        Assert.NotNull(StateCodec.Default.DecodeVersion("v11", StateCodec.Default.Encode(afterAppend), null, out ulong ownBase, out _, out _));
        Assert.Equal(afterAppend.SeqNo, ownBase);
    }

    [Fact]
    public void StateCodec_IncrementalVersion_WithoutItsPredecessor_AsksForItsChain()
    {
        ShardState predecessor = SampleState(batches: 3);
        ShardState next = predecessor with { SeqNo = predecessor.SeqNo + 1, Since = Frontier.At(5) };
        byte[] incremental = StateCodec.Default.EncodeIncremental(next, predecessor, chainBase: 7);

        // No predecessor, or one that is not the version before: the reader must decode the chain from its base.
        Assert.Null(StateCodec.Default.DecodeVersion("v10", incremental, null, out ulong chainBase, out bool needsPredecessor, out _));
        Assert.True(needsPredecessor);
        Assert.Equal(7UL, chainBase);
        Assert.Null(StateCodec.Default.DecodeVersion("v10", incremental, predecessor with { SeqNo = 3 }, out _, out needsPredecessor, out _));
        Assert.True(needsPredecessor);
        // A plain decode (rollups) refuses it with a clear reason.
        Assert.Null(StateCodec.Default.Decode("v10", incremental, out string error));
        Assert.Contains("incremental", error, StringComparison.Ordinal);
        // A predecessor with the right seqno but other batches (a corrupt or foreign chain) is an error, not a state.
        ShardState wrong = predecessor with { Batches = predecessor.Batches.RemoveAt(2), Upper = Frontier.At(20) };
        Assert.Null(StateCodec.Default.DecodeVersion("v10", incremental, wrong, out _, out needsPredecessor, out string mismatch));
        Assert.False(needsPredecessor);
        Assert.StartsWith("v10 is corrupt", mismatch, StringComparison.Ordinal);
    }

    internal static List<Update> RandomUpdates(IRandom random, int count)
    {
        var updates = new List<Update>(count);
        for (int i = 0; i < count; i++)
        {
            int columns = random.Next(5);
            var datums = new Datum[columns];
            for (int c = 0; c < columns; c++)
            {
                datums[c] = RandomDatum(random);
            }
            updates.Add(new Update(new Row(datums), random.NextUInt64() >> random.Next(64), random.NextInt64(-1000, 1000)));
        }
        return updates;
    }

    private static Datum RandomDatum(IRandom random) => random.Next(9) switch
    {
        0 => Datum.Null,
        1 => Datum.FromBool(random.Chance(0.5)),
        2 => Datum.FromInt64((long)random.NextUInt64()),
        3 => Datum.FromFloat64(random.Chance(0.1) ? -0.0 : BitConverter.Int64BitsToDouble((long)random.NextUInt64() & 0x7FEFFFFFFFFFFFFF)),
        4 => Datum.FromDecimal(new decimal((int)random.NextUInt64(), (int)random.NextUInt64(), (int)random.NextUInt64(), random.Chance(0.5), (byte)random.Next(29))),
        5 => Datum.FromString(random.Chance(0.2) ? "" : "héllo ✓ " + random.Next(1000)),
        6 => Datum.FromBytes(BitConverter.GetBytes(random.NextUInt64()).AsSpan(0, random.Next(9))),
        7 => Datum.FromDate(random.NextInt64(-100_000, 100_000)),
        _ => Datum.FromTimestamp((long)random.NextUInt64()),
    };

    internal static ShardState SampleState(int batches)
    {
        ShardState state = ShardState.Initial(new ShardId("s" + new string('a', 32)), 1_700_000_000_000);
        ImmutableArray<HollowBatch> list = [];
        for (int i = 0; i < batches; i++)
        {
            list = list.Add(new HollowBatch(
                new BatchDescription(Frontier.At((ulong)i * 10), Frontier.At((ulong)(i + 1) * 10), Frontier.At(0)),
                [new PartRef($"s/p/w/{i}", 100 + i, 5 + i), new PartRef($"s/p/w/{i}b", 7, 1) { Inline = [1, 2, 3, 4, 5, 6, (byte)i] }]));
        }
        return state with
        {
            SeqNo = 9,
            Since = Frontier.At(0),
            Upper = Frontier.At((ulong)batches * 10),
            Batches = list,
            LeasedReaders = state.LeasedReaders.Add("r1", new LeasedReaderState(Frontier.At(0), 4, 123, 456, "a reader")),
            CriticalReaders = state.CriticalReaders.Add("c1", new CriticalReaderState(Frontier.At(0), 77, "controller")),
            Writers = state.Writers.Add("w1", new WriterState(new IdempotencyToken(1, 2), Frontier.At(10), 5, 6, "writer")),
            Rollups = state.Rollups.Add(8, "s/r/8-x"),
            LastGcSeqNo = 3,
        };
    }
}
