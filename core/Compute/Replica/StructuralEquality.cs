using System;
using System.Collections;
using System.Collections.Immutable;
using System.Reflection;

namespace Kernel.Compute.Replica;

/// <summary>
/// Deep value equality of plan records. Records compare <see cref="ImmutableArray{T}"/> members by reference, so
/// two equal descriptions decoded from two messages would differ; reconciliation needs structural equality.
/// </summary>
internal static class StructuralEquality
{
    public static bool Equal(object? a, object? b, int depth = 0)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }
        if (a is null || b is null)
        {
            return false;
        }
        if (depth > 200)
        {
            throw new InvalidOperationException("plan nesting deeper than 200 levels");
        }
        Type type = a.GetType();
        if (type != b.GetType())
        {
            return false;
        }
        if (type.IsPrimitive || type.IsEnum || a is string || a is decimal || a is Kernel.Persist.Data.Row || a is Kernel.Persist.Data.Datum)
        {
            return a.Equals(b);
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ImmutableArray<>))
        {
            bool aDefault = (bool)type.GetProperty(nameof(ImmutableArray<int>.IsDefault))!.GetValue(a)!;
            bool bDefault = (bool)type.GetProperty(nameof(ImmutableArray<int>.IsDefault))!.GetValue(b)!;
            if (aDefault || bDefault)
            {
                return aDefault == bDefault;
            }
        }
        if (a is IEnumerable first && b is IEnumerable second)
        {
            IEnumerator left = first.GetEnumerator();
            IEnumerator right = second.GetEnumerator();
            while (true)
            {
                bool hasLeft = left.MoveNext();
                bool hasRight = right.MoveNext();
                if (hasLeft != hasRight)
                {
                    return false;
                }
                if (!hasLeft)
                {
                    return true;
                }
                if (!Equal(left.Current, right.Current, depth + 1))
                {
                    return false;
                }
            }
        }
        if (type.IsValueType && type.FullName is { } name && name.StartsWith("System.ValueTuple", StringComparison.Ordinal))
        {
            foreach (FieldInfo field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                if (!Equal(field.GetValue(a), field.GetValue(b), depth + 1))
                {
                    return false;
                }
            }
            return true;
        }
        if (type.IsValueType)
        {
            return a.Equals(b);
        }
        foreach (PropertyInfo property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.Name == "EqualityContract")
            {
                continue;
            }
            if (!Equal(property.GetValue(a), property.GetValue(b), depth + 1))
            {
                return false;
            }
        }
        return true;
    }
}
