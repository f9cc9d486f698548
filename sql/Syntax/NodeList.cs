using System;
using System.Collections;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Text;

namespace Kernel.Sql.Syntax;

/// <summary>Builds <see cref="NodeList{T}"/> values; also the target of collection expressions (<c>[a, b]</c>).</summary>
public static class NodeList
{
    /// <summary>A list holding a copy of <paramref name="items"/>.</summary>
    public static NodeList<T> Create<T>(ReadOnlySpan<T> items) =>
        items.Length == 0 ? NodeList<T>.Empty : new NodeList<T>(items.ToArray());

    /// <summary>A list holding a copy of <paramref name="items"/>.</summary>
    public static NodeList<T> From<T>(List<T> items) =>
        items.Count == 0 ? NodeList<T>.Empty : new NodeList<T>([.. items]);
}

/// <summary>
/// An immutable list with value equality, so that syntax records holding lists compare by content:
/// two trees parsed from equivalent text are equal.
/// </summary>
[CollectionBuilder(typeof(NodeList), nameof(NodeList.Create))]
public sealed class NodeList<T> : IReadOnlyList<T>, IEquatable<NodeList<T>>
{
    private readonly T[] _items;

    internal NodeList(T[] items) => _items = items;

    public static NodeList<T> Empty { get; } = new([]);

    public int Count => _items.Length;

    public T this[int index] => _items[index];

    public ReadOnlySpan<T> AsSpan() => _items;

    /// <summary>Allocation-free enumeration for <c>foreach</c>.</summary>
    public ReadOnlySpan<T>.Enumerator GetEnumerator() => new ReadOnlySpan<T>(_items).GetEnumerator();

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(NodeList<T>? other)
    {
        if (other is null)
        {
            return false;
        }

        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (_items.Length != other._items.Length)
        {
            return false;
        }

        EqualityComparer<T> comparer = EqualityComparer<T>.Default;
        for (int i = 0; i < _items.Length; i++)
        {
            if (!comparer.Equals(_items[i], other._items[i]))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is NodeList<T> other && Equals(other);

    public override int GetHashCode()
    {
        // Only the count and the first few elements: enough to spread lists, cheap on long ones.
        int hash = _items.Length;
        EqualityComparer<T> comparer = EqualityComparer<T>.Default;
        for (int i = 0; i < _items.Length && i < 4; i++)
        {
            T item = _items[i];
            hash = (hash * 31) + (item is null ? 0 : comparer.GetHashCode(item));
        }

        return hash;
    }

    public override string ToString()
    {
        var builder = new StringBuilder("[");
        for (int i = 0; i < _items.Length; i++)
        {
            if (i > 0)
            {
                builder.Append(", ");
            }

            builder.Append(_items[i]);
        }

        return builder.Append(']').ToString();
    }
}
