using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Kernel.Expr;
using Kernel.Net.Compute;
using Kernel.Persist.Data;
using Xunit.Sdk;

namespace Kernel.Tests.Unit.Net;

/// <summary>
/// Deep structural equality for protocol values. Records compare <c>ImmutableArray</c> fields by reference, so
/// this walks them instead: sequences element by element, records and tuples member by member, and the data
/// types (<see cref="Datum"/>, <see cref="Row"/>, <see cref="Frontier"/>, ...) by their own exact equality
/// (doubles and decimals by bits).
/// </summary>
public static class StructuralAssert
{
    private static readonly HashSet<Type> s_leaves =
    [
        typeof(Datum), typeof(Row), typeof(Frontier), typeof(GlobalId), typeof(SqlType), typeof(ColumnType),
        typeof(PeekUuid), typeof(ColumnOrder), typeof(string), typeof(decimal),
    ];

    public static void Equal(object? expected, object? actual) => Compare(expected, actual, "$");

    private static void Compare(object? expected, object? actual, string path)
    {
        if (expected is null || actual is null)
        {
            if (expected is not null || actual is not null)
            {
                throw new XunitException($"{path}: expected {expected ?? "null"}, got {actual ?? "null"}");
            }
            return;
        }
        Type type = expected.GetType();
        if (type != actual.GetType())
        {
            throw new XunitException($"{path}: expected a {type.Name}, got a {actual.GetType().Name}");
        }
        if (type.IsPrimitive || type.IsEnum || s_leaves.Contains(type))
        {
            if (!expected.Equals(actual))
            {
                throw new XunitException($"{path}: expected {expected}, got {actual}");
            }
            return;
        }
        if (expected is IEnumerable expectedItems)
        {
            List<object?> left = expectedItems.Cast<object?>().ToList();
            List<object?> right = ((IEnumerable)actual).Cast<object?>().ToList();
            if (left.Count != right.Count)
            {
                throw new XunitException($"{path}: expected {left.Count} items, got {right.Count}");
            }
            for (int i = 0; i < left.Count; i++)
            {
                Compare(left[i], right[i], $"{path}[{i}]");
            }
            return;
        }
        if (type.IsGenericType && type.FullName!.StartsWith("System.ValueTuple", StringComparison.Ordinal))
        {
            foreach (FieldInfo field in type.GetFields())
            {
                Compare(field.GetValue(expected), field.GetValue(actual), path + "." + field.Name);
            }
            return;
        }
        foreach (PropertyInfo property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0)
            {
                Compare(property.GetValue(expected), property.GetValue(actual), path + "." + property.Name);
            }
        }
    }
}
