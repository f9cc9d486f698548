using System.Linq;
using System.Threading;
using Kernel.Sql.Parsing;
using Kernel.Sql.Printing;
using Kernel.Sql.Syntax;
using Xunit;

namespace Kernel.Tests.Sql;

/// <summary>
/// The deepest trees the parser accepts must parse, print, compare and hash within a modest stack: the
/// depth limit exists so that no statement can overflow the stack of whoever handles it.
/// </summary>
public sealed class StackBudgetTests
{
    // Smaller than .NET's default secondary-thread stack (1.5 MB on Linux), in a Debug build.
    private const int StackBytes = 1024 * 1024;

    private const int Depth = Parser.DepthMax - 6;

    public static TheoryData<string> DeepestStatements => new()
    {
        "SELECT " + new string('(', Depth) + "1" + new string(')', Depth),
        "SELECT " + string.Concat(Enumerable.Repeat("(SELECT ", Depth / 2)) + "1" + new string(')', Depth / 2),
        "SELECT 1" + string.Concat(Enumerable.Repeat(" + 1", Depth)),
        "SELECT " + string.Concat(Enumerable.Repeat("f(", Depth)) + "1" + new string(')', Depth),
        "SELECT " + string.Concat(Enumerable.Repeat("CASE WHEN true THEN ", Depth)) + "1" + string.Concat(Enumerable.Repeat(" END", Depth)),
        "SELECT * FROM " + new string('(', Depth) + "t JOIN u ON true" + string.Concat(Enumerable.Repeat(") JOIN u ON true", Depth)),
        "SELECT " + string.Concat(Enumerable.Repeat("- ", Depth)) + "1",
        "SELECT " + string.Concat(Enumerable.Repeat("NOT ", Depth)) + "true",
        "SELECT 1" + string.Concat(Enumerable.Repeat(" UNION SELECT 1", Depth)),
        "SELECT 1 IN " + string.Concat(Enumerable.Repeat("(SELECT 1 IN ", Depth / 3)) + "(1)" + new string(')', Depth / 3),
    };

    [Theory]
    [MemberData(nameof(DeepestStatements))]
    public void DeepestStatement_FitsInASmallStack(string sql)
    {
        string? failure = "did not run";
        var thread = new Thread(
            () =>
            {
                ParseResult result = Parser.Parse(sql);
                if (!result.IsSuccess)
                {
                    failure = result.Error.ToString();
                    return;
                }

                Statement statement = result.Statements[0].Statement;
                Statement again = Parser.Parse(SqlPrinter.Print(statement)).Statements[0].Statement;
                failure = statement.Equals(again) && statement.GetHashCode() == again.GetHashCode() && statement.ToString().Length > 0
                    ? null
                    : "the printed statement did not read back as the same tree";
            },
            StackBytes);
        thread.Start();
        thread.Join();
        Assert.Null(failure);
    }
}
