using System.Globalization;

namespace Magma.Inference.Text;

/// <summary>
/// The prompts Magma's official code uses (spec §5.2-5.3). Each builder returns the user-turn content, starting with
/// the image placeholder; <c>useImageStartEnd</c> is the checkpoint's <c>mm_use_image_start_end</c> flag. The task,
/// question or instruction is plain text: special-token strings in it stay characters (<see cref="ChatContent"/>).
/// </summary>
public static class MagmaPrompts
{
    /// <summary>System prompt used by every official agent (sic: "agent", no "an").</summary>
    public const string SystemPrompt = "You are agent that can see, talk and act.";

    /// <summary>The placeholder for one image under the checkpoint's flag (<see cref="ChatContent.Image"/>).</summary>
    public static ChatContent Image(bool useImageStartEnd) => ChatContent.Image(useImageStartEnd);

    /// <summary>System + user turns, the conversation shape of every official prompt.</summary>
    public static IReadOnlyList<ChatTurn> Conversation(ChatContent userContent) =>
        [new ChatTurn(ChatRole.System, SystemPrompt), new ChatTurn(ChatRole.User, userContent)];

    /// <summary>Generic visual question: "{image}\n{question}".</summary>
    public static ChatContent VisualQuestion(string question, bool useImageStartEnd) =>
        Image(useImageStartEnd) + "\n" + question;

    /// <summary>LIBERO / SimplerEnv: "{image}\nWhat action should the robot take to {task}?".</summary>
    public static ChatContent RobotAction(string task, bool useImageStartEnd) =>
        Image(useImageStartEnd) + $"\nWhat action should the robot take to {task}?";

    /// <summary>UI grounding on a Set-of-Mark screenshot.</summary>
    public static ChatContent UiClick(string instruction, bool useImageStartEnd) =>
        Image(useImageStartEnd) + $"\nIn this view I need to click a button to \"{instruction}\"? Provide the coordinates and the mark index of the containing bounding box if applicable.";

    /// <summary>UI free-form question: "{image}\n{question} Answer the question briefly.".</summary>
    public static ChatContent UiQuestion(string question, bool useImageStartEnd) =>
        Image(useImageStartEnd) + $"\n{question} Answer the question briefly.";

    /// <summary>
    /// Trace-of-Mark planning; <paramref name="markIds"/> is printed as a Python list literal ("[1, 2, 3]").
    /// </summary>
    public static ChatContent TraceOfMarkPlanning(IReadOnlyList<int> markIds, string task, int speed, int steps, bool useImageStartEnd)
    {
        ArgumentNullException.ThrowIfNull(markIds);
        string marks = "[" + string.Join(", ", markIds.Select(m => m.ToString(CultureInfo.InvariantCulture))) + "]";
        return Image(useImageStartEnd) + string.Create(
            CultureInfo.InvariantCulture,
            $"\nThe image is split into 256x256 grids and is labeled with numeric marks {marks}.\nThe robot is doing: {task}. To finish the task, how to move the numerical marks in the image with speed {speed} for the next {steps} steps?\n");
    }
}
