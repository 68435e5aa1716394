package io.webrocket.frontend;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The permission pattern P a backend issued with a single access token, compiled once (at
 * {@code auth}) as {@code ^(P)$} and matched against channel names on the event loop.
 *
 * <p>Why a bound: P comes from a backend and the name from a browser; a pattern such as
 * {@code private-(.*a){10}b} backtracks for minutes on a 48-character name and would stall
 * every socket of the event loop. Each match may read at most {@code maxSteps} characters of
 * the name (a backtracking matcher reads one per step); past that it is abandoned.
 */
final class Permission {
  enum Result { MATCH, NO_MATCH, ABANDONED }

  private final Pattern pattern;

  private Permission(Pattern pattern) {
    this.pattern = pattern;
  }

  static Permission compile(String p) throws PatternSyntaxException {
    return new Permission(Pattern.compile("^(" + p + ")$"));
  }

  Result match(String name, int maxSteps) {
    try {
      return pattern.matcher(new Counted(name, maxSteps)).matches() ? Result.MATCH : Result.NO_MATCH;
    } catch (OverBudget e) {
      return Result.ABANDONED;
    } catch (StackOverflowError e) {
      return Result.ABANDONED; // a deeply nested pattern; the name is short, so it is the pattern's doing
    }
  }

  /** Thrown from a character read past the budget; preallocated, no stack trace. */
  private static final class OverBudget extends RuntimeException {
    static final OverBudget INSTANCE = new OverBudget();

    private OverBudget() {
      super("permission match over budget", null, false, false);
    }
  }

  /** The name, counting the matcher's reads. */
  private static final class Counted implements CharSequence {
    private final String s;
    private int left;

    Counted(String s, int budget) {
      this.s = s;
      this.left = budget;
    }

    @Override
    public char charAt(int index) {
      if (--left < 0) {
        throw OverBudget.INSTANCE;
      }
      return s.charAt(index);
    }

    @Override
    public int length() {
      return s.length();
    }

    @Override
    public CharSequence subSequence(int start, int end) {
      // Only for groups, which matches() never extracts; a copy is bounded by the name's length.
      return s.subSequence(start, end);
    }

    @Override
    public String toString() {
      return s;
    }
  }
}
